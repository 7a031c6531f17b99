# examples/openssl-aead (OpenSSL AEAD provider for the ovpn data channel) links the system
# libcrypto: headers and pkg-config for openssl-sys at build time. This runs before clippy.
apt_install libssl-dev pkg-config
