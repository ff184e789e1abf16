/*
 * fuzz-acme-json: the JSON reader of the ACME client (acme/acme-json.c)
 * on anything a CA, or whoever answers in its name, can send.
 *
 * Invariants: a parse fails with a "JSON: " message or gives a tree
 * within the depth and node limits; an object's members have names, all
 * different, each found by acme_json_get(); an array's elements have
 * none and acme_json_nth() walks them in order; strings and numbers have
 * text (numbers in the RFC 8259 grammar's first character set); the tree
 * written back as JSON, its strings by the HTTP routes' writer
 * (http_json_string), parses to the same tree.
 */
#include "fuzz.h"
#include "acme/acme-json.h"
#include "http/http-private.h"
#include "lib/buf.h"

static size_t check_tree(const struct acme_json *j, int depth)
{
	size_t nodes = 1, n = 0;

	FUZZ_CHECK(depth < ACME_JSON_MAX_DEPTH + 1);
	switch (j->type) {
	case ACME_JSON_STRING:
		FUZZ_CHECK(j->str != NULL && j->child == NULL);
		break;
	case ACME_JSON_NUMBER:
		FUZZ_CHECK(j->str != NULL && j->child == NULL);
		FUZZ_CHECK(j->str[0] == '-' || (j->str[0] >= '0' && j->str[0] <= '9'));
		break;
	case ACME_JSON_ARRAY:
	case ACME_JSON_OBJECT:
		for (const struct acme_json *c = j->child; c != NULL; c = c->next, n++) {
			if (j->type == ACME_JSON_OBJECT) {
				FUZZ_CHECK(c->key != NULL);
				FUZZ_CHECK(acme_json_get(j, c->key) == c);	/* unique */
			} else {
				FUZZ_CHECK(c->key == NULL);
				FUZZ_CHECK(acme_json_nth(j, n) == c);
			}
			nodes += check_tree(c, depth + 1);
		}
		FUZZ_CHECK(n == j->n);
		FUZZ_CHECK(acme_json_nth(j, n) == NULL);
		break;
	default:
		FUZZ_CHECK(j->type == ACME_JSON_NULL || j->type == ACME_JSON_TRUE ||
			   j->type == ACME_JSON_FALSE);
		FUZZ_CHECK(j->str == NULL && j->child == NULL);
	}
	return nodes;
}

static void write_json(struct buf *b, const struct acme_json *j)
{
	switch (j->type) {
	case ACME_JSON_NULL:
		buf_puts(b, "null");
		break;
	case ACME_JSON_TRUE:
		buf_puts(b, "true");
		break;
	case ACME_JSON_FALSE:
		buf_puts(b, "false");
		break;
	case ACME_JSON_NUMBER:
		buf_puts(b, j->str);
		break;
	case ACME_JSON_STRING:
		http_json_string(b, j->str);
		break;
	case ACME_JSON_ARRAY:
	case ACME_JSON_OBJECT:
		buf_putc(b, j->type == ACME_JSON_ARRAY ? '[' : '{');
		for (const struct acme_json *c = j->child; c != NULL; c = c->next) {
			if (c != j->child)
				buf_putc(b, ',');
			if (c->key != NULL) {
				http_json_string(b, c->key);
				buf_putc(b, ':');
			}
			write_json(b, c);
		}
		buf_putc(b, j->type == ACME_JSON_ARRAY ? ']' : '}');
		break;
	}
}

static bool same_tree(const struct acme_json *a, const struct acme_json *b)
{
	if (a->type != b->type || a->n != b->n)
		return false;
	if ((a->key == NULL) != (b->key == NULL) || (a->key != NULL && strcmp(a->key, b->key) != 0))
		return false;
	if ((a->str == NULL) != (b->str == NULL) || (a->str != NULL && strcmp(a->str, b->str) != 0))
		return false;
	const struct acme_json *x = a->child, *y = b->child;
	for (; x != NULL && y != NULL; x = x->next, y = y->next)
		if (!same_tree(x, y))
			return false;
	return x == NULL && y == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *error = NULL;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	struct acme_json *j = acme_json_parse(text, size, &error);
	if (j == NULL) {
		FUZZ_CHECK(error != NULL && strncmp(error, "JSON: ", 6) == 0);
		free(error);
		free(text);
		return 0;
	}
	FUZZ_CHECK(check_tree(j, 0) <= ACME_JSON_MAX_NODES);
	FUZZ_CHECK(j->key == NULL);

	/* written back: at most 6 bytes per input byte (\u00XX) */
	struct buf out;
	buf_init(&out, 6 * size + 16);
	write_json(&out, j);
	FUZZ_CHECK(out.data != NULL);
	if (out.len <= ACME_JSON_MAX_INPUT) {
		struct acme_json *again = acme_json_parse(out.data, out.len, &error);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(same_tree(j, again));
		acme_json_free(&again);
		FUZZ_CHECK(again == NULL);
	}
	buf_free(&out);
	acme_json_free(&j);
	free(text);
	return 0;
}
