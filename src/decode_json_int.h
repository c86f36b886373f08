/* Private helpers of the JSON decoder that other decoders (Avro) and the unit
 * tests reuse: base64, Connect Decimal bytes -> decimal text, and the typed
 * forms of the unchanged-TOAST placeholder. Not part of the public API. */
#ifndef SLUICE_DECODE_JSON_INT_H
#define SLUICE_DECODE_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/buf.h"

/* Decodes standard base64 (RFC 4648 alphabet, '=' padding required, length a
 * multiple of 4). out must hold len / 4 * 3 bytes. Returns the decoded length,
 * or -1 if the text is not valid base64. */
long sluice_decode_base64(const char *in, size_t len, unsigned char *out);

/* Encodes base64 with padding into out (room for 4 * ((len + 2) / 3) + 1
 * bytes, NUL-terminated). Returns the encoded length. */
size_t sluice_decode_base64_encode(const unsigned char *in, size_t len, char *out);

/* Renders a big-endian two's-complement unscaled integer of any length (Kafka
 * Connect Decimal, BigInteger.toByteArray()) with scale digits after the
 * point: {0x01,0x65,0xa0,0xbc,0x00} scale 9 -> "6.000000000"; negative scale
 * appends zeros. Empty input is 0. |scale| must be <= SLUICE_DECIMAL_SCALE_MAX.
 * The text lives in arena; returns NULL on allocation failure. */
#define SLUICE_DECIMAL_SCALE_MAX 100000
char *sluice_decode_decimal_text(sluice_arena_t *arena, const unsigned char *bytes, size_t n,
                                 int32_t scale, size_t *out_len);

/* UUID.nameUUIDFromBytes(text): the uuid[] form of the placeholder.
 * out receives 36 characters and a NUL. */
void sluice_decode_placeholder_uuid(const char *text, size_t len, char out[37]);

#endif
