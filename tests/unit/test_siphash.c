/* SipHash-2-4 against the reference vectors of its authors and against OpenSSL's
 * SIPHASH MAC for every length up to 200 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "siphash.h"

static void reference_vectors(void **state)
{
    static const struct {
        size_t len;
        uint64_t hash;
    } vectors[] = {
        {0, UINT64_C(0x726fdb47dd0e0e31)}, {1, UINT64_C(0x74f839c593dc67fd)},
        {2, UINT64_C(0x0d6c8009d9a94f5a)}, {3, UINT64_C(0x85676696d7fb7e2d)},
        {4, UINT64_C(0xcf2794e0277187b7)}, {8, UINT64_C(0x93f5f5799a932462)},
        {15, UINT64_C(0xa129ca6149be45e5)},
    };
    uint8_t key[SIPHASH_KEY_BYTES];
    uint8_t message[16];

    (void)state;
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
        message[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        assert_int_equal(siphash24(key, message, vectors[i].len), vectors[i].hash);
    }
}

static uint64_t openssl_siphash(const uint8_t *key, const uint8_t *data, size_t len)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx;
    unsigned int size = 8;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_SIZE, &size),
        OSSL_PARAM_construct_end(),
    };
    uint8_t out[8];
    size_t out_len = 0;
    uint64_t value = 0;

    assert_non_null(mac);
    ctx = EVP_MAC_CTX_new(mac);
    assert_non_null(ctx);
    assert_int_equal(EVP_MAC_init(ctx, key, SIPHASH_KEY_BYTES, params), 1);
    assert_int_equal(EVP_MAC_update(ctx, data, len), 1);
    assert_int_equal(EVP_MAC_final(ctx, out, &out_len, sizeof(out)), 1);
    assert_int_equal(out_len, 8);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    for (int i = 7; i >= 0; i--) {
        value = (value << 8) | out[i];
    }
    return value;
}

static void agrees_with_openssl(void **state)
{
    uint8_t key[SIPHASH_KEY_BYTES];
    uint8_t data[200];
    uint32_t x = 2463534242u;

    (void)state;
    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t)(0xA5 ^ (i * 29));
    }
    for (size_t i = 0; i < sizeof(data); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    for (size_t len = 0; len <= sizeof(data); len++) {
        assert_int_equal(siphash24(key, data, len), openssl_siphash(key, data, len));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_vectors),
        cmocka_unit_test(agrees_with_openssl),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
