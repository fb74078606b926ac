# each argument "KIND,NAME[,ADDRESS]" -> "ARG RESULT": http/https to NAME
# (resolved by DNS to the host unless ADDRESS is given; SNI and Host are
# NAME), dns,NAME,SERVER (an A query), udp,ADDRESS,PORT, auth,NAME,TOKEN
# (HTTPS GET /headers with "Authorization: TOKEN").
# ok:BODY, rcodeN:ADDR or error:WHAT. usage: egress-fetch.py CAFILE ARG...
import socket, ssl, struct, sys
def query(name, server):
    q = struct.pack('!6H', 0x1234, 0x0100, 1, 0, 0, 0)
    q += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.'))
    q += b'\0' + struct.pack('!HH', 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, 53))
    r = s.recv(512)
    n = struct.unpack('!H', r[6:8])[0]
    return r[3] & 15, ('.'.join(map(str, r[-4:])) if n else '-')
def get(name, ip, tls, path='/', auth=None):
    if not ip:
        rcode, ip = query(name, '10.77.0.1')
        if rcode: raise OSError('dns rcode %d' % rcode)
    s = socket.create_connection((ip, 443 if tls else 80), timeout=5)
    if tls:
        c = ssl.create_default_context(cafile=sys.argv[1])
        s = c.wrap_socket(s, server_hostname=name)
    extra = 'Authorization: %s\r\n' % auth if auth else ''
    s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n'
               % (path, name, extra)).encode())
    d = b''
    while True:
        x = s.recv(4096)
        if not x: break
        d += x
    if not d: raise OSError('closed')
    return 'ok:' + d.split(b'\r\n\r\n', 1)[-1].decode().strip()
def udp(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b'ping', (ip, int(port)))
    return 'ok:' + s.recv(64).decode()
for a in sys.argv[2:]:
    f = a.split(',') + [None]
    try:
        if f[0] == 'dns': r = 'rcode%d:%s' % query(f[1], f[2])
        elif f[0] == 'udp': r = udp(f[1], f[2])
        elif f[0] == 'auth': r = get(f[1], None, True, '/headers', f[2])
        else: r = get(f[1], f[2], f[0] == 'https')
    except Exception as e:
        r = 'error:%s' % type(e).__name__
    print(a, r)
