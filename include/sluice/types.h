/* Debezium / Kafka Connect values -> PostgreSQL. Formats a decoded value as
 * PostgreSQL's text input form, so it can be bound as a text parameter to a
 * column of the matching type. */
#ifndef SLUICE_TYPES_H
#define SLUICE_TYPES_H

#include "sluice/buf.h"
#include "sluice/error.h"
#include "sluice/event.h"

/* Appends the text form of v to out (no quoting for SQL: values are always
 * bound as parameters). v must not be SLUICE_VAL_NULL or UNAVAILABLE (the
 * caller binds NULL or leaves the column out). Arrays become array literals
 * ('{1,2,NULL}', elements quoted as PostgreSQL requires); bytes become
 * '\x..' hex; dates 'YYYY-MM-DD' (BC years as PostgreSQL writes them);
 * timestamps 'YYYY-MM-DD HH:MM:SS.ffffff'. */
int sluice_types_pg_text(const sluice_value_t *v, sluice_buf_t *out, sluice_err_t *err);

#endif
