#!/usr/bin/python3
"""probe.py - small stdlib-only probes that the lab VM's peers answer (exit 0 = yes).

  probe.py ppp-serial [SOCK]   LCP Configure-Request as async HDLC (RFC 1662) into the unix socket
                               of the guest's /dev/ttyS2; waits for pppd's Configure-Ack, then ends
                               the session with a Terminate-Request (pppd respawns).
  probe.py gre                 (run in netns rp-lab) ICMP echo 10.97.45.1 -> 10.97.45.2 inside
                               GRE to 10.97.40.2 on a raw IPPROTO_GRE socket; waits for the reply.
  probe.py l2tp                (run in netns rp-lab) L2TPv2 tunnel + session to xl2tpd on
                               10.97.40.2:1701 (SCCRQ/SCCRP/SCCCN, ICRQ/ICRP/ICCN), then an LCP
                               Configure-Request in a data message; waits for pppd's ConfAck.
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

def ppp_serial(path, wait=8.0):
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
    print("ppp-serial: %s (%d frames)" % ("ConfAck received" if acked else "no ConfAck", seen))
    return acked

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF

def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def gre():
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5250, 1) + b"rp-lab gre probe"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
    s.settimeout(0.5)
    end = time.time() + 6
    s.sendto(b"\x00\x00\x08\x00" + ipv4("10.97.45.1", "10.97.45.2", 1, icmp), ("10.97.40.2", 0))
    while time.time() < end:
        try:
            d, _ = s.recvfrom(4000)
        except socket.timeout:
            continue
        g = d[(d[0] & 15) * 4:]
        if len(g) < 4 or g[2:4] != b"\x08\x00":
            continue
        inner = g[4:]
        icmp_r = inner[(inner[0] & 15) * 4:]
        if inner[9] == 1 and icmp_r[0] == 0 and icmp_r[4:6] == b"\x52\x50":
            print("gre: echo reply %s -> %s inside GRE" % (socket.inet_ntoa(inner[12:16]),
                                                          socket.inet_ntoa(inner[16:20])))
            return True
    print("gre: no echo reply")
    return False

def l2tp():
    def avp(t, v):
        return struct.pack("!HHH", 0x8000 | (6 + len(v)), 0, t) + v
    def ctl(tid, sid, ns, nr, body):
        return struct.pack("!HHHHHH", 0xC802, 12 + len(body), tid, sid, ns, nr) + body
    def avps(d):
        out, i, ln = {}, 12, struct.unpack("!H", d[2:4])[0]
        while i + 6 <= ln:
            l = struct.unpack("!H", d[i:i + 2])[0] & 0x3FF
            if l < 6:
                break
            out[struct.unpack("!H", d[i + 4:i + 6])[0]] = d[i + 6:i + l]
            i += l
        return out
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.5)
    u.bind(("10.97.40.1", 0))
    peer = ("10.97.40.2", 1701)
    u.sendto(ctl(0, 0, 0, 0, avp(0, b"\0\1") + avp(2, b"\1\0") + avp(3, struct.pack("!I", 3))
                 + avp(7, b"rp-lab-probe") + avp(9, b"\0\x07") + avp(10, b"\0\x04")), peer)
    tid = sid = None
    ns, nr = 1, 0
    end = time.time() + 15
    while time.time() < end:
        try:
            d, peer = u.recvfrom(4000)
        except socket.timeout:
            continue
        flags = struct.unpack("!H", d[:2])[0]
        if flags & 0x8000:
            ln, _, _, pns, _ = struct.unpack("!HHHHH", d[2:12])
            if ln == 12:
                continue                      # ZLB
            nr = (pns + 1) & 0xFFFF
            a = avps(d)
            mt = struct.unpack("!H", a.get(0, b"\0\0"))[0]
            print("l2tp: control message type %d" % mt)
            if mt == 2:                       # SCCRP -> SCCCN, ICRQ
                tid = struct.unpack("!H", a[9])[0]
                u.sendto(ctl(tid, 0, ns, nr, avp(0, b"\0\x03")), peer); ns += 1
                u.sendto(ctl(tid, 0, ns, nr, avp(0, b"\0\x0a") + avp(14, b"\0\x55")
                             + avp(15, struct.pack("!I", 1))), peer); ns += 1
            elif mt == 11:                    # ICRP -> ICCN, then LCP
                sid = struct.unpack("!H", a[14])[0]
                u.sendto(ctl(tid, sid, ns, nr, avp(0, b"\0\x0c") + avp(24, struct.pack("!I", 10000000))
                             + avp(19, struct.pack("!I", 1))), peer); ns += 1
                time.sleep(0.3)
                u.sendto(struct.pack("!HHH", 0x0002, tid, sid)
                         + bytes.fromhex("ff03c0210142000a0506deadbeef"), peer)
            else:
                u.sendto(ctl(tid or 0, 0, ns, nr, b""), peer)
        else:
            off = 6 + (2 if flags & 0x4000 else 0)
            ppp = d[off:]
            if ppp[2:4] == b"\xc0\x21" and len(ppp) > 5 and ppp[4] == 2 and ppp[5] == 0x42:
                print("l2tp: LCP ConfAck from the LNS's pppd")
                if tid:
                    # StopCCN (result 1) to end the tunnel
                    u.sendto(ctl(tid, 0, ns, nr, avp(0, b"\0\x04") + avp(9, b"\0\x07")
                                 + avp(1, b"\0\x01")), peer)
                return True
    print("l2tp: no LCP ConfAck")
    return False

def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "ppp-serial":
        ok = ppp_serial(sys.argv[2] if len(sys.argv) > 2 else "/run/rp-lab/ppp-serial.sock")
    elif what == "gre":
        ok = gre()
    elif what == "l2tp":
        ok = l2tp()
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(0 if ok else 1)

main()
