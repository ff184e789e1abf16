/* header-field: see header-field.h. Folding: RFC 5322 2.2.3. */
#include "mail/header-field.h"
#include "lib/alloc.h"
#include "mail/mime-index.h"
#include <gmime/gmime.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *header_field_get(const char *data, size_t len, const char *name, unsigned *count_r)
{
	unsigned count = 0;
	char *value = NULL;
	size_t nl_len = strlen(name);
	if (len > HEADER_FIELD_SCAN_MAX)
		len = HEADER_FIELD_SCAN_MAX;
	size_t pos = 0;
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) + 1 : len - pos;
		if (line[0] == '\n' || (line[0] == '\r' && ll <= 2))
			break; /* the blank line: end of the header */
		if (ll > nl_len && strncasecmp(line, name, nl_len) == 0 && line[nl_len] == ':') {
			count++;
			/* the field and its continuation lines */
			size_t end = pos + ll;
			while (end < len && (data[end] == ' ' || data[end] == '\t')) {
				const char *n2 = memchr(data + end, '\n', len - end);
				end = n2 != NULL ? (size_t)(n2 - data) + 1 : len;
			}
			if (value == NULL) {
				size_t vl = end - pos - nl_len - 1;
				const char *v = line + nl_len + 1;
				while (vl > 0 && (v[vl - 1] == '\n' || v[vl - 1] == '\r'))
					vl--; /* the field's own line end */
				value = xstrndup(v, vl);
				for (char *c = value; *c != '\0'; c++)
					if (*c == '\r' || *c == '\n')
						*c = ' ';
			}
			pos = end;
			continue;
		}
		pos += ll;
	}
	if (count_r != NULL)
		*count_r = count;
	return value;
}

static char *trim(char *s)
{
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	memmove(s, p, n);
	s[n] = '\0';
	return s;
}

int header_field_sent_identity(const char *data, size_t len, char **message_id_r,
			       char **from_r)
{
	*message_id_r = *from_r = NULL;
	char *mid = header_field_get(data, len, "Message-ID", NULL);
	if (mid == NULL || trim(mid)[0] == '\0' || strlen(mid) > HEADER_FIELD_MSGID_MAX) {
		free(mid);
		return -1;
	}
	char *from = header_field_get(data, len, "From", NULL);
	mime_index_global_init(); /* GMime's address parser needs it */
	InternetAddressList *list = from != NULL ? internet_address_list_parse(NULL, from) : NULL;
	free(from);
	char *addr = NULL;
	if (list != NULL && internet_address_list_length(list) > 0) {
		InternetAddress *ia = internet_address_list_get_address(list, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			if (a != NULL && a[0] != '\0') {
				addr = xstrdup(a);
				for (char *c = addr; *c != '\0'; c++)
					*c = (char)tolower((unsigned char)*c);
			}
		}
	}
	if (list != NULL)
		g_object_unref(list);
	if (addr == NULL) {
		free(mid);
		return -1;
	}
	*message_id_r = mid;
	*from_r = addr;
	return 0;
}
