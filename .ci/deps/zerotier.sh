# zerotier interop: the real ZeroTierOne 1.14.1 node ships prebuilt in ../shared/interop/zerotier
# (bin/zerotier-one, zt-lab.sh); its lab script needs these commands.
apt_install iproute2 curl jq iputils-ping procps
