/* crlf: see crlf.h. A CR directly before LF belongs to the line ending;
 * any other CR is data (it is sent as is). */
#include "mail/crlf.h"
#include <string.h>

int64_t crlf_size(const char *data, size_t len)
{
	int64_t size = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *lf = memchr(data + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - data) : len;
		size_t next = lf != NULL ? end + 1 : len;
		if (end > pos && data[end - 1] == '\r')
			end--;
		size += (int64_t)(end - pos) + 2;
		pos = next;
	}
	return size;
}
