/*
 * fuzz-autodiscover: the EMailAddress extraction of Outlook's POX
 * autodiscover request (http/route-autodiscover.c), on any body a client
 * can POST (NULs included).
 *
 * Invariants: an address comes back only from input holding
 * "EMailAddress>"; it is shorter than the input, has no '<' (the element
 * text ends there) and no NUL; a body with a NUL yields nothing.
 */
#include "fuzz.h"
#include "http/http-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, data, size);
	body[size] = '\0';
	char *addr = http_autodiscover_address(body, size);
	if (addr != NULL) {
		FUZZ_CHECK(memchr(body, '\0', size) == NULL);
		FUZZ_CHECK(strstr(body, "EMailAddress>") != NULL);
		FUZZ_CHECK(strlen(addr) < size);
		FUZZ_CHECK(strchr(addr, '<') == NULL || strstr(body, "&lt;") != NULL);
		free(addr);
	}
	free(body);
	return 0;
}
