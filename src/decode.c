/* Format dispatch for record keys and values: format.key / format.value say
 * json, avro or auto (sniff the Confluent magic byte). Owns the decoders and
 * the schema registry client it creates from the config; does not decode
 * anything itself, and never sees tombstones (apply handles a NULL value). */
#include "sluice/decode.h"

#include <stdlib.h>
#include <string.h>

#include "sluice/decode_avro.h"
#include "sluice/manifest.h"
#include "sluice/types.h"
#include "sluice/decode_json.h"
#include "sluice/registry.h"

typedef enum { FMT_AUTO, FMT_JSON, FMT_AVRO } fmt_t;

struct sluice_decoder {
    fmt_t key_fmt, value_fmt;
    sluice_json_decoder_t *json;
    sluice_avro_decoder_t *avro;
    sluice_registry_t *reg; /* NULL without registry.url */
};

static int parse_fmt(const char *key, const char *s, fmt_t *out, sluice_err_t *err)
{
    if (!s || !*s || !strcmp(s, "auto"))
        *out = FMT_AUTO;
    else if (!strcmp(s, "json"))
        *out = FMT_JSON;
    else if (!strcmp(s, "avro"))
        *out = FMT_AVRO;
    else
        return sluice_err_set(err, SLUICE_ERR_FATAL,
                              "config: %s = \"%s\" is not a format (use json, avro or auto)", key,
                              s);
    return 0;
}

sluice_decoder_t *sluice_decoder_new(const sluice_config_t *cfg, sluice_err_t *err)
{
    sluice_decoder_t *dec = calloc(1, sizeof(*dec));
    sluice_decode_opts_t opts;

    if (!dec) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "decode: out of memory");
        return NULL;
    }
    if (parse_fmt("format.key", cfg->format_key, &dec->key_fmt, err) < 0 ||
        parse_fmt("format.value", cfg->format_value, &dec->value_fmt, err) < 0)
        goto fail;
    if ((dec->key_fmt == FMT_AVRO || dec->value_fmt == FMT_AVRO) &&
        (!cfg->registry_url || !*cfg->registry_url)) {
        sluice_err_set(err, SLUICE_ERR_FATAL,
                       "config: registry.url is missing: format avro needs a schema registry");
        goto fail;
    }
    /* the connector's settings, from its manifest (defaults without one) */
    memset(&opts, 0, sizeof(opts));
    opts.unavailable_placeholder = cfg->unavailable_placeholder;
    {
        int bin = sluice_binary_mode_parse(cfg->binary_mode);
        int dm = sluice_decimal_mode_parse(cfg->decimal_mode);
        size_t i;
        if (bin < 0 || dm < 0) {
            sluice_err_set(err, SLUICE_ERR_FATAL,
                           "config: the connector's %s = \"%s\" is not one Sluice knows",
                           bin < 0 ? "binary.handling.mode" : "decimal.handling.mode",
                           bin < 0 ? cfg->binary_mode : cfg->decimal_mode);
            goto fail;
        }
        opts.binary_handling_mode = (sluice_binary_mode_t)bin;
        opts.decimal_handling_mode = (sluice_decimal_mode_t)dm;
        opts.flattened = cfg->unwrap ? SLUICE_FLATTENED_YES : SLUICE_FLATTENED_AUTO;
        /* precise decimals without schemas cannot be decoded: each such
         * message fails with an error saying so, instead of a guessed scale */
        for (i = 0; i < cfg->nmanifests; i++)
            if (cfg->manifests[i]->value_schemas == 0 && dm == SLUICE_DECIMAL_PRECISE)
                opts.precise_decimals_without_schema_is_error = 1;
    }
    dec->json = sluice_json_decoder_new(&opts);
    if (!dec->json) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "decode: out of memory");
        goto fail;
    }
    if (cfg->registry_url && *cfg->registry_url) {
        sluice_registry_opts_t ro;
        memset(&ro, 0, sizeof(ro));
        ro.url = cfg->registry_url;
        ro.basic_auth = cfg->registry_basic_auth;
        ro.ca_file = cfg->registry_ca_file;
        ro.cert_file = cfg->registry_cert_file;
        ro.key_file = cfg->registry_key_file;
        ro.timeout_ms = cfg->registry_timeout_ms;
        ro.max_retries = -1;
        ro.not_found_ttl_ms = -1;
        dec->reg = sluice_registry_new(&ro, err);
        if (!dec->reg)
            goto fail;
    }
    /* Without a registry the Avro decoder still frames and explains. */
    dec->avro = sluice_avro_decoder_new(&opts, dec->reg);
    if (!dec->avro) {
        sluice_err_set(err, SLUICE_ERR_FATAL, "decode: out of memory");
        goto fail;
    }
    return dec;
fail:
    sluice_decoder_destroy(dec);
    return NULL;
}

void sluice_decoder_destroy(sluice_decoder_t *dec)
{
    if (!dec)
        return;
    sluice_avro_decoder_destroy(dec->avro);
    sluice_registry_destroy(dec->reg);
    sluice_json_decoder_destroy(dec->json);
    free(dec);
}

static int is_avro(fmt_t fmt, const void *buf, size_t len)
{
    return fmt == FMT_AVRO || (fmt == FMT_AUTO && len > 0 && ((const unsigned char *)buf)[0] == 0);
}

/* Avro bytes but nowhere to look their schema up: configuration. */
static int no_registry(sluice_err_t *err, const char *what)
{
    return sluice_err_set(err, SLUICE_ERR_FATAL,
                          "the record %s starts with 0x00, the Confluent Avro magic byte, but "
                          "registry.url is not set; set registry.url to the schema registry the "
                          "connector's AvroConverter uses (or set format.%s to json)",
                          what, what);
}

int sluice_decoder_key(sluice_decoder_t *dec, const void *buf, size_t len, sluice_event_t *ev,
                       sluice_err_t *err)
{
    const unsigned char *p = buf ? buf : (const void *)"", *end = p + (buf ? len : 0);

    ev->key.present = 0;
    if (is_avro(dec->key_fmt, buf, len)) {
        if (!dec->reg)
            return no_registry(err, "key");
        return sluice_avro_decoder_key(dec->avro, buf, len, ev, err);
    }
    if (dec->key_fmt == FMT_AUTO) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p == end || *p != '{')
            return 0; /* not a structured key (see decode.h) */
    }
    return sluice_json_decoder_key(dec->json, buf, len, ev, err);
}

int sluice_decoder_value(sluice_decoder_t *dec, const void *buf, size_t len, sluice_event_t *ev,
                         sluice_err_t *err)
{
    if (is_avro(dec->value_fmt, buf, len)) {
        if (!dec->reg)
            return no_registry(err, "value");
        return sluice_avro_decoder_value(dec->avro, buf, len, ev, err);
    }
    return sluice_json_decoder_value(dec->json, buf, len, ev, err);
}

/* A key or value held split, for a decoder told it is Avro: judged on the
 * joined bytes, as it came. */
static int joined_decode(sluice_decoder_t *dec, int key, const char *schema, size_t schema_len,
                         const char *payload, size_t payload_len, sluice_event_t *ev,
                         sluice_err_t *err)
{
    size_t n = sluice_json_envelope_size(schema_len, payload_len);
    char *joined = malloc(n);
    int rc;

    if (!joined)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "decode: out of memory");
    sluice_json_envelope_join(joined, schema, schema_len, payload, payload_len);
    rc = key ? sluice_decoder_key(dec, joined, n, ev, err)
             : sluice_decoder_value(dec, joined, n, ev, err);
    free(joined);
    return rc;
}

int sluice_decoder_value_split(sluice_decoder_t *dec, const char *schema, size_t schema_len,
                               const char *payload, size_t payload_len, sluice_event_t *ev,
                               sluice_err_t *err)
{
    if (dec->value_fmt == FMT_AVRO)
        return joined_decode(dec, 0, schema, schema_len, payload, payload_len, ev, err);
    return sluice_json_decoder_value_split(dec->json, schema, schema_len, payload, payload_len, ev,
                                           err);
}

int sluice_decoder_key_split(sluice_decoder_t *dec, const char *schema, size_t schema_len,
                             const char *payload, size_t payload_len, sluice_event_t *ev,
                             sluice_err_t *err)
{
    if (dec->key_fmt == FMT_AVRO)
        return joined_decode(dec, 1, schema, schema_len, payload, payload_len, ev, err);
    ev->key.present = 0;
    return sluice_json_decoder_key_split(dec->json, schema, schema_len, payload, payload_len, ev,
                                         err);
}
