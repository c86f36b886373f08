/* Private to the manifest module: YAML documents as jansson trees. */
#ifndef SLUICE_MANIFEST_INT_H
#define SLUICE_MANIFEST_INT_H

#include <jansson.h>
#include <stddef.h>

#include "sluice/error.h"

/* Parses every document of a YAML stream (libyaml) into a JSON array, one
 * element per document. Scalars become strings (plain ~, null and empty
 * become JSON null); anchors and aliases are resolved. Returns NULL with a
 * SLUICE_ERR_FATAL message naming origin, line and column. Caller decrefs. */
json_t *sluice_yaml_load(const char *text, size_t len, const char *origin, sluice_err_t *err);

#endif
