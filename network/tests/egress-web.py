# HTTP on 80, HTTPS on 443: each answer says which Host it got and on which
# address it was reached; UDP 53 and 443 answer anything (an outside resolver,
# QUIC), so only a filter can keep a guest from them. usage: egress-web.py CERT KEY
import http.server, socket, socketserver, ssl, sys, threading
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', port))
    while True:
        d, a = s.recvfrom(512)
        s.sendto(b'udp', a)
for p in (53, 443):
    threading.Thread(target=udp, args=(p,), daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ('host=%s;addr=%s;tls=%s\n' % (self.headers.get('Host'),
             self.connection.getsockname()[0],
             isinstance(self.connection, ssl.SSLSocket))).encode()
        if self.path == '/headers':
            b = ('auth=%s\n' % self.headers.get('Authorization')).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
def serve(port, tls):
    s = S(('0.0.0.0', port), H)
    if tls:
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.load_cert_chain(sys.argv[1], sys.argv[2])
        s.socket = c.wrap_socket(s.socket, server_side=True)
    s.serve_forever()
threading.Thread(target=serve, args=(80, False), daemon=True).start()
serve(443, True)
