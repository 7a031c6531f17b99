/*
 * ZeroTier's AES-GMAC-SIV armor + dearmor of one packet, built from OpenSSL EVP primitives:
 * the yardstick of zerotier/benches/compare_openssl.sh. Same construction as the crate
 * (zerotier/src/crypto.rs) and the captures' README:
 *   K0/K1  = HMAC-SHA384(key, be32(0) 'Z' 'T' label 0 0 be32(384))[0:32], label '0' / '1'
 *   tag16  = AES-256-GCM_K0(nonce = packet ID || 0^32, AAD = dest|src|flags&F8 padded to 16,
 *            then the plaintext; empty ciphertext)  -> folded = tag16[0:8] ^ tag16[8:16]
 *   T      = AES-256-ECB_K1(packet ID || folded)
 *   payload = AES-256-CTR_K1(counter block = T with bit 7 of byte 12 cleared)
 *   packet ID := T[0:8], MAC field := T[8:16]
 * Dearmor: CTR-decrypt, ECB-decrypt T, recompute the GMAC, compare.
 *
 *   cc -O2 gmac_siv_openssl.c -lcrypto -o gmac_siv_openssl
 *   ./gmac_siv_openssl vector        -> the armored test packet (hex), for the cross-check
 *   ./gmac_siv_openssl bench SECS    -> "<MB/s>" of armor+dearmor, MB = 10^6 payload bytes (1400/op)
 * Contexts are keyed once and re-initialised per packet with the IV only, as a tuned C
 * implementation would.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static EVP_CIPHER_CTX *gcm, *ecb_e, *ecb_d, *ctr;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void kbkdf(const unsigned char key[48], char label, unsigned char out[48])
{
    unsigned char msg[13] = {0, 0, 0, 0, 'Z', 'T', (unsigned char)label, 0, 0, 0, 0, 1, 0x80};
    unsigned int n = 48;
    HMAC(EVP_sha384(), key, 48, msg, sizeof msg, out, &n);
}

static void gmac_folded(const unsigned char *iv8, const unsigned char *pkt, const unsigned char *plain, int len, unsigned char folded[8])
{
    unsigned char nonce[12] = {0}, aad[16] = {0}, tag[16];
    int n;
    memcpy(nonce, iv8, 8);
    memcpy(aad, pkt + 8, 11);
    aad[10] &= 0xf8;
    EVP_EncryptInit_ex(gcm, NULL, NULL, NULL, nonce);
    EVP_EncryptUpdate(gcm, NULL, &n, aad, 16);
    EVP_EncryptUpdate(gcm, NULL, &n, plain, len);
    EVP_EncryptFinal_ex(gcm, tag, &n);
    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag);
    for (int i = 0; i < 8; i++)
        folded[i] = tag[i] ^ tag[i + 8];
}

static void ctr_crypt(const unsigned char t[16], unsigned char *buf, int len)
{
    unsigned char iv[16];
    int n;
    memcpy(iv, t, 16);
    iv[12] &= 0x7f;
    EVP_EncryptInit_ex(ctr, NULL, NULL, NULL, iv);
    EVP_EncryptUpdate(ctr, buf, &n, buf, len);
}

static void armor(unsigned char *pkt, int len)
{
    unsigned char t[16], tb[16];
    int n;
    pkt[18] = (pkt[18] & 0xc7) | (3 << 3);
    memcpy(t, pkt, 8);
    gmac_folded(pkt, pkt, pkt + 27, len - 27, t + 8);
    EVP_EncryptUpdate(ecb_e, tb, &n, t, 16);
    ctr_crypt(tb, pkt + 27, len - 27);
    memcpy(pkt, tb, 8);
    memcpy(pkt + 19, tb + 8, 8);
}

static int dearmor(unsigned char *pkt, int len)
{
    unsigned char t[16], d[16], folded[8];
    int n;
    memcpy(t, pkt, 8);
    memcpy(t + 8, pkt + 19, 8);
    ctr_crypt(t, pkt + 27, len - 27);
    EVP_DecryptUpdate(ecb_d, d, &n, t, 16);
    gmac_folded(d, pkt, pkt + 27, len - 27, folded);
    return memcmp(folded, d + 8, 8) == 0;
}

static int test_packet(unsigned char *p)
{
    int o = 0;
    for (int i = 1; i <= 8; i++) p[o++] = i;
    const unsigned char hdr[11] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x11, 0x12, 0x13, 0x14, 0x15, 0x00};
    memcpy(p + o, hdr, 11); o += 11;
    memset(p + o, 0, 8); o += 8;
    p[o++] = 0x06;
    const unsigned char nw[10] = {0x74, 0xbe, 0xb2, 0x46, 0x3d, 0x00, 0x00, 0x97, 0x08, 0x00};
    memcpy(p + o, nw, 10); o += 10;
    for (int i = 0; i < 1400; i++) p[o++] = (unsigned char)(i * 7);
    return o;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s vector | bench SECS\n", argv[0]);
        return 2;
    }
    unsigned char key[48], k0[48], k1[48];
    memset(key, 0x11, sizeof key);
    kbkdf(key, '0', k0);
    kbkdf(key, '1', k1);
    gcm = EVP_CIPHER_CTX_new(); ecb_e = EVP_CIPHER_CTX_new(); ecb_d = EVP_CIPHER_CTX_new(); ctr = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(gcm, EVP_aes_256_gcm(), NULL, k0, NULL);
    EVP_EncryptInit_ex(ecb_e, EVP_aes_256_ecb(), NULL, k1, NULL);
    EVP_CIPHER_CTX_set_padding(ecb_e, 0);
    EVP_DecryptInit_ex(ecb_d, EVP_aes_256_ecb(), NULL, k1, NULL);
    EVP_CIPHER_CTX_set_padding(ecb_d, 0);
    EVP_EncryptInit_ex(ctr, EVP_aes_256_ctr(), NULL, k1, NULL);
    unsigned char tmpl[1438], buf[1438];
    int len = test_packet(tmpl);
    if (strcmp(argv[1], "vector") == 0) {
        memcpy(buf, tmpl, len);
        armor(buf, len);
        for (int i = 0; i < len; i++) printf("%02x", buf[i]);
        printf("\n");
        if (!dearmor(buf, len) || memcmp(buf + 27, tmpl + 27, len - 27)) return 1;
        return 0;
    }
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    double start = now(), end = start + secs;
    long ops = 0;
    while (now() < end) {
        for (int i = 0; i < 256; i++) {
            memcpy(buf, tmpl, len);
            armor(buf, len);
            if (!dearmor(buf, len)) { fprintf(stderr, "dearmor failed\n"); return 1; }
        }
        ops += 256;
    }
    printf("%.0f\n", ops * 1400.0 / (now() - start) / 1e6);
    return 0;
}
