#!/usr/bin/python3
"""ppp-probe.py SOCK [seconds] - minimal check that the guest's serial pppd answers.

Connects to the unix socket carrying /dev/ttyS2 of the lab VM, sends one LCP Configure-Request
(magic number only) framed as async HDLC (RFC 1662), prints every LCP/other frame received, and
exits 0 once pppd's Configure-Ack for our request arrived (1 otherwise). The session is closed
with an LCP Terminate-Request so that pppd exits and is respawned for the next user.
"""
import socket, struct, sys, time

def fcs16(data):
    fcs = 0xFFFF
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF

def frame(proto, payload):
    body = b"\xff\x03" + struct.pack(">H", proto) + payload
    body += struct.pack("<H", fcs16(body))
    out = bytearray(b"\x7e")
    for b in body:
        if b < 0x20 or b in (0x7D, 0x7E):   # default ACCM: escape all control characters
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out + b"\x7e")

def deframe(stream):
    frames = []
    for chunk in stream.split(b"\x7e"):
        if not chunk:
            continue
        data, esc = bytearray(), False
        for b in chunk:
            if esc:
                data.append(b ^ 0x20); esc = False
            elif b == 0x7D:
                esc = True
            else:
                data.append(b)
        if len(data) >= 4 and fcs16(bytes(data[:-2])) == struct.unpack("<H", data[-2:])[0]:
            frames.append(bytes(data[:-2]))
    return frames

def proto_of(f):
    i = 2 if f[:2] == b"\xff\x03" else 0
    if f[i] & 1:
        return f[i], f[i + 1:]
    return struct.unpack(">H", f[i:i + 2])[0], f[i + 2:]

LCP_CODES = {1: "ConfReq", 2: "ConfAck", 3: "ConfNak", 4: "ConfRej", 5: "TermReq", 6: "TermAck",
             7: "CodeRej", 9: "EchoReq", 10: "EchoRep"}

def main():
    path = sys.argv[1]
    wait = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(0.2)
    req_id = 0x42
    s.sendall(frame(0xC021, bytes([1, req_id]) + struct.pack(">H", 10) + b"\x05\x06\x12\x34\x56\x78"))
    buf, acked, seen = b"", False, 0
    end = time.time() + wait
    while time.time() < end and not acked:
        try:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        except socket.timeout:
            continue
        last = buf.rfind(b"\x7e")
        if last <= 0:
            continue
        frames, buf = deframe(buf[:last + 1]), buf[last:]
        for f in frames:
            proto, pl = proto_of(f)
            seen += 1
            if proto == 0xC021 and len(pl) >= 4:
                code, ident = pl[0], pl[1]
                print("rcvd LCP %s id=0x%02x len=%d" % (LCP_CODES.get(code, code), ident, len(pl)))
                if code == 1:   # acknowledge pppd's own request as it is
                    s.sendall(frame(0xC021, bytes([2]) + pl[1:]))
                if code == 2 and ident == req_id:
                    acked = True
            else:
                print("rcvd proto 0x%04x len=%d" % (proto, len(pl)))
    s.sendall(frame(0xC021, bytes([5, 0x43, 0, 4])))   # Terminate-Request
    time.sleep(0.3)
    s.close()
    print("result: %s (%d frames)" % ("ConfAck received" if acked else "no ConfAck", seen))
    sys.exit(0 if acked else 1)

main()
