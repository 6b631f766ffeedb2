/*
 * k8sname.c - the Kubernetes name formats Calico's validator checks
 * metadata against (decode.h): DNS labels and subdomains (object names,
 * tiers, nodes, profiles, services), qualified names (label and annotation
 * keys) and label values. Each check walks its string once. Control
 * thread only.
 */
#include <stdbool.h>
#include <string.h>

#include "decode.h"

static bool
lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool
any_alnum(char ch)
{
	return lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n), with no length bound. */
static bool
dns_label_n(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool
k8s_dns_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n <= max && dns_label_n(s, n);
}

/* Labels joined by '.', at most @n <= 253 bytes in all. */
static bool
dns_subdomain_n(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > K8S_SUBDOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!dns_label_n(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool
k8s_dns_subdomain(const char *s)
{
	return dns_subdomain_n(s, strlen(s));
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63. */
static bool
name_part_n(const char *s, size_t n)
{
	if (n == 0 || n > K8S_LABEL_MAX || !any_alnum(s[0]) || !any_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!any_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

const char *
k8s_qualified_name_error(const char *key, bool fold_prefix)
{
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	char prefix[K8S_SUBDOMAIN_MAX + 1];
	size_t plen;

	if (slash != NULL) {
		plen = (size_t)(slash - key);
		if (strchr(name, '/') != NULL)
			return "a key has at most one '/'";
		if (plen == 0 || plen > K8S_SUBDOMAIN_MAX)
			return "the prefix before '/' must be a DNS subdomain of 1 to 253 characters";
		for (size_t i = 0; i < plen; i++)
			prefix[i] = fold_prefix && key[i] >= 'A' && key[i] <= 'Z' ?
					    (char)(key[i] - 'A' + 'a') : key[i];
		if (!dns_subdomain_n(prefix, plen))
			return "the prefix before '/' must be a lowercase DNS subdomain "
			       "(letters, digits, '-' and '.')";
	}
	if (!name_part_n(name, strlen(name)))
		return "the name must be 1 to 63 letters, digits, '-', '_' or '.', starting and "
		       "ending with a letter or digit";
	return NULL;
}

const char *
k8s_label_value_error(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return NULL;
	if (!name_part_n(v, n))
		return "a label value is at most 63 letters, digits, '-', '_' or '.', starting and "
		       "ending with a letter or digit";
	return NULL;
}
