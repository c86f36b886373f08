/* Helpers config.c shares with the modules that read the same kinds of JSON
 * (connector manifests). Private to the library. */
#ifndef SLUICE_CONFIG_INT_H
#define SLUICE_CONFIG_INT_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string, integer, real or boolean as text (how Kafka Connect and
 * librdkafka take property values): reals in their shortest exact form. -1
 * for null, objects and arrays. */
int sluice_config_scalar_text(const json_t *v, char *out, size_t outsz);

#endif
