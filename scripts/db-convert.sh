#!/bin/sh
# db-convert: the mechanical part of moving store code from the sqlite3
# API to src/store/db/db.h. Rewrites the files given (default: every
# src/store/*.c and *.h but the SQLite-only ones below) in place; run it
# again over store code written against sqlite3 after a merge. What it
# cannot do is left for a hand fix and shows up as a compile error:
# opening connections, sqlite3_last_insert_rowid (use RETURNING id),
# sqlite3_busy_timeout and the other SQLite-only calls (db_sqlite()).
#
#   scripts/db-convert.sh [FILE...]
set -eu
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
	set -- src/store/*.c src/store/*.h
fi
for f in "$@"; do
	grep -q -e 'sqlite3' -e 'SQLITE_' -e 'store_sqlite_err' "$f" || continue
	perl -0pi -e '
		# Lines using db_sqlite() are SQLite-only on purpose (already
		# converted files keep them): leave them and the include alone.
		my @keep;
		s/^(.*\bdb_sqlite\(.*)$/push(@keep, $1); "\@KEEP" . $#keep . "\@"/gme;
		my $sqlite_only = @keep > 0;
		# types
		s/\bsqlite3_stmt\b/struct db_stmt/g;
		s/(?<!struct )\bsqlite3\b(?=\s*\*)/struct db/g;
		s/\bsqlite3_int64\b/int64_t/g;
		s/#include <sqlite3\.h>/#include "store\/db\/db.h"/g unless $sqlite_only;
		# calls whose arguments change
		s/\bsqlite3_prepare_v[23]\(\s*([^,]+?),\s*(.*?),\s*-1,\s*(?:0,\s*|SQLITE_PREPARE_PERSISTENT,\s*)?&([\w>.-]+),\s*NULL\)/db_prepare($1, $2, &$3)/gs;
		s/\bsqlite3_bind_value\(\s*([^,]+?),\s*([^,]+?),\s*sqlite3_column_value\(\s*([^,]+?),\s*([^()]+?)\)\s*\)/db_bind_column($1, $2, $3, $4)/gs;
		s/!\s*sqlite3_get_autocommit\(/db_in_transaction(/g;
		s/\bsqlite3_get_autocommit\(/!db_in_transaction(/g;
		s/\bsqlite3_exec\(\s*([^,]+?),\s*(.*?),\s*NULL,\s*NULL,\s*NULL\)/db_exec($1, $2, NULL)/gs;
		s/\bsqlite3_bind_blob64\b/db_bind_blob/g;
		s/const unsigned char \*(\w+) = sqlite3_column_text\b/const char *$1 = db_column_text/g;
		s/\(const char \*\)\s*sqlite3_column_text\(/db_column_text(/g;
		# one for one
		s/\bsqlite3_(step|reset|finalize|bind_int64|bind_int|bind_text|bind_blob|bind_null|clear_bindings|column_int64|column_int|column_text|column_blob|column_bytes|column_type|column_count|changes|errmsg|sql|stmt_busy|close)\b/db_$1/g;
		s/\bstore_sqlite_err\b/store_db_err/g;
		# constants
		s/\bSQLITE_STATIC\b/true/g;
		s/\bSQLITE_TRANSIENT\b/false/g;
		s/\bSQLITE_NULL\b/DB_TYPE_NULL/g;
		s/\bSQLITE_(OK|ROW|DONE|BUSY|FULL|IOERR|CONSTRAINT|CORRUPT|TOOBIG|ERROR)\b/DB_$1/g;
		s/\@KEEP(\d+)\@/$keep[$1]/g;
	' "$f"
done
