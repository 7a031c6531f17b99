#!/usr/bin/python3
"""Host end of the lab VM control channel (see guest/rplab-agent for the line protocol).

usage: ctl.py CTL_SOCK 'shell snippet'   -> prints the output, exits with the snippet's code
"""
import base64, fcntl, os, socket, sys, time

def main():
    sock_path, cmd = sys.argv[1], sys.argv[2]
    timeout = int(float(os.environ.get("RPLAB_EXEC_TIMEOUT", "60")))
    lock = open(os.path.join(os.path.dirname(sock_path), "ctl.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)          # one exchange at a time (shared with lab_vm.rs)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(0.5)
    rid = "%d%06d" % (os.getpid(), time.time_ns() // 1000 % 1000000)
    b64 = base64.b64encode(cmd.encode()).decode()
    s.sendall(("\nR %s %d %s\n" % (rid, timeout, b64)).encode())
    begin, end = ("@@RPLAB %s BEGIN" % rid).encode(), ("@@RPLAB %s END " % rid).encode()
    buf = b""
    deadline = time.time() + timeout + 10
    while time.time() < deadline:
        try:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        except socket.timeout:
            s.sendall(b"\n")                  # wakes a stalled virtio console; ignored by the agent
        i = buf.find(begin)
        j = buf.find(end, i if i >= 0 else 0)
        if i >= 0 and j >= 0 and buf.find(b"\n", j) >= 0:
            body = buf[i + len(begin):j]
            rc = int(buf[j + len(end):buf.find(b"\n", j)].strip() or b"255")
            out = base64.b64decode(b"".join(body.split()))
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(rc)
    sys.stderr.write("lab-vm exec: no answer from the guest within %d s\n" % (timeout + 10))
    sys.exit(255)

main()
