# ptp interop peer: linuxptp (ptp4l + pmc), Debian 12 package 3.1.1.
apt_install linuxptp iproute2
