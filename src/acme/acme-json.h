/*
 * acme-json: a small, bounded JSON reader (RFC 8259) for what an ACME
 * server sends: directories, orders, authorizations, problems. The whole
 * text becomes a tree; strings are decoded to UTF-8 (no NUL inside, so
 * they are C strings); numbers are kept as their text. Every dimension
 * has a limit below, so a hostile server cannot make it grow or recurse
 * without bound. Duplicate member names are refused (which one a reader
 * would see is otherwise unspecified, RFC 8259 4).
 */
#ifndef ROOST_ACME_JSON_H
#define ROOST_ACME_JSON_H
#include <stddef.h>

/* Largest document accepted (an ACME object is a few KiB). */
#define ACME_JSON_MAX_INPUT (256 * 1024)
/* Deepest nesting of arrays and objects. */
#define ACME_JSON_MAX_DEPTH 32
/* Values in one document (members and elements together). */
#define ACME_JSON_MAX_NODES 8192

enum acme_json_type {
	ACME_JSON_NULL,
	ACME_JSON_FALSE,
	ACME_JSON_TRUE,
	ACME_JSON_NUMBER,
	ACME_JSON_STRING,
	ACME_JSON_ARRAY,
	ACME_JSON_OBJECT,
};

struct acme_json {
	enum acme_json_type type;
	char *key;		  /* member name inside an object, else NULL */
	char *str;		  /* STRING: decoded; NUMBER: its text */
	size_t n;		  /* ARRAY/OBJECT: number of children */
	struct acme_json *child; /* first child */
	struct acme_json *last;	  /* last child (while building) */
	struct acme_json *next;	  /* next sibling */
};

/* Parse text[0..len) (need not be NUL-terminated). The tree, or NULL with
 * *error_r (caller frees) saying what and where. */
struct acme_json *acme_json_parse(const char *text, size_t len, char **error_r);
void acme_json_free(struct acme_json **j);

/* Member `key` of an object; NULL when j is not an object or has none. */
const struct acme_json *acme_json_get(const struct acme_json *j, const char *key);
/* The string value of member `key`, or NULL (absent or not a string). */
const char *acme_json_get_str(const struct acme_json *j, const char *key);
/* Element i of an array, or NULL. */
const struct acme_json *acme_json_nth(const struct acme_json *j, size_t i);
#endif
