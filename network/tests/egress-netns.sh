#!/bin/sh
# test hosts for test-egress-netns: a "guest" namespace on a bridge of its own
# (10.77.0.5, the host is 10.77.0.1) and an "upstream" namespace (198.18.77.2,
# also 198.18.77.9) with HTTP on 80 and HTTPS on 443 for allowed.test and
# blocked.test (a self-signed certificate, the guest's CA file).
# usage: egress-netns.sh up|down TAG DIR
set -eu
tag=$2
dir=$3
here=$(cd "$(dirname "$0")" && pwd)
g=eg${tag}g u=eg${tag}u br=eg${tag}b
if [ "$1" = down ]; then
	[ -f "$dir/web.pid" ] && kill "$(cat "$dir/web.pid")" 2>/dev/null || true
	ip route del 198.18.77.9/32 2>/dev/null || true
	ip link del "$g" 2>/dev/null || true
	ip link del "$u" 2>/dev/null || true
	ip link del "$br" 2>/dev/null || true
	ip netns del "$g" 2>/dev/null || true
	ip netns del "$u" 2>/dev/null || true
	nft delete table inet "sbxegress_$tag" 2>/dev/null || true
	exit 0
fi
# what an interrupted run left (its tag is its pid, now gone): its addresses and
# routes would shadow this run's
for old in $(ip -o link show type bridge | sed -n 's/^[0-9]*: eg\([0-9]*\)b[:@].*/\1/p'); do
	[ "$old" = "$tag" ] || kill -0 "$old" 2>/dev/null || "$0" down "$old" /nonexistent
done
ip netns add "$g"
ip netns add "$u"
ip link add "$br" type bridge
ip addr add 10.77.0.1/24 dev "$br"
ip link set "$br" up
ip link add "$g" type veth peer name "${g}p"
ip link set "${g}p" netns "$g"
ip link set "$g" master "$br" up
ip netns exec "$g" sh -c "ip link set lo up && ip addr add 10.77.0.5/24 dev ${g}p && \
	ip link set ${g}p up && ip route add default via 10.77.0.1"
ip link add "$u" type veth peer name "${u}p"
ip link set "${u}p" netns "$u"
ip addr add 198.18.77.1/24 dev "$u"
ip link set "$u" up
ip netns exec "$u" sh -c "ip link set lo up && ip addr add 198.18.77.2/24 dev ${u}p && \
	ip addr add 198.18.77.9/32 dev lo && ip link set ${u}p up && \
	ip route add default via 198.18.77.1"
# replace: a route left by an interrupted run must not stop this one
ip route replace 198.18.77.9/32 via 198.18.77.2
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout web.key -out web.crt -days 2 \
	-subj /CN=allowed.test -addext "subjectAltName=DNS:allowed.test,DNS:blocked.test" \
	2>/dev/null
ip netns exec "$u" python3 "$here/egress-web.py" web.crt web.key </dev/null >/dev/null 2>&1 &
echo $! > web.pid
# python3 and the key take a while on a busy 2-core host (the suite runs beside it)
for _ in $(seq 300); do
	python3 -c "import socket; socket.create_connection(('198.18.77.2', 443), 1)" \
		2>/dev/null && exit 0
	sleep 0.1
done
echo "the test web server did not start" >&2
exit 1
