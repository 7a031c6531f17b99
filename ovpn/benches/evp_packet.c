/*
 * OpenSSL's own cost for one OpenVPN AEAD data packet, the reference line of
 * compare_openssl.sh: per packet, what OpenVPN 2.6 does through EVP (set the 12-byte nonce
 * on a keyed context, 8 bytes of AAD, the payload in place, final, and get the tag on seal /
 * set it on open). `openssl speed -evp` instead times EVP_EncryptUpdate alone on a running
 * stream: no nonce, AAD, final or tag per block.
 *
 *   cc -O2 evp_packet.c -lcrypto -o evp_packet && ./evp_packet chacha20-poly1305 1024 2 seal
 * prints: <MB/s>   (MB = 10^6 bytes)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s <evp cipher> <bytes> <seconds> seal|open\n", argv[0]);
        return 2;
    }
    const EVP_CIPHER *cipher = EVP_get_cipherbyname(argv[1]);
    int n = atoi(argv[2]);
    double secs = atof(argv[3]);
    int open = strcmp(argv[4], "open") == 0;
    if (cipher == NULL || n <= 0)
        return 2;
    unsigned char key[32], nonce[12], aad[8], tag[16];
    memset(key, 7, sizeof key);
    memset(nonce, 1, sizeof nonce);
    memset(aad, 0x48, sizeof aad);
    unsigned char *pkt = calloc(n, 1), *buf = calloc(n, 1);
    EVP_CIPHER_CTX *seal = EVP_CIPHER_CTX_new(), *dec = EVP_CIPHER_CTX_new();
    int outl;
    if (!EVP_EncryptInit_ex(seal, cipher, NULL, key, NULL)
        || !EVP_DecryptInit_ex(dec, cipher, NULL, key, NULL))
        return 1;
    /* one sealed packet for the open loop */
    EVP_EncryptInit_ex(seal, NULL, NULL, NULL, nonce);
    EVP_EncryptUpdate(seal, NULL, &outl, aad, sizeof aad);
    EVP_EncryptUpdate(seal, pkt, &outl, pkt, n);
    EVP_EncryptFinal_ex(seal, pkt, &outl);
    EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, tag);

    long count = 0;
    double start = now(), end = start + secs, t = start;
    while (t < end) {
        for (int i = 0; i < 256; i++, count++) {
            if (open) {
                memcpy(buf, pkt, n);
                EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce);
                EVP_DecryptUpdate(dec, NULL, &outl, aad, sizeof aad);
                EVP_DecryptUpdate(dec, buf, &outl, buf, n);
                EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag);
                if (EVP_DecryptFinal_ex(dec, buf + outl, &outl) <= 0)
                    return 1;
            } else {
                EVP_EncryptInit_ex(seal, NULL, NULL, NULL, nonce);
                EVP_EncryptUpdate(seal, NULL, &outl, aad, sizeof aad);
                EVP_EncryptUpdate(seal, buf, &outl, buf, n);
                EVP_EncryptFinal_ex(seal, buf + outl, &outl);
                EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, tag);
            }
        }
        t = now();
    }
    printf("%.0f\n", (double)count * n / (t - start) / 1e6);
    return 0;
}
