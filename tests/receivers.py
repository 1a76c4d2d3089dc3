"""Real receivers on loopback for notifier tests: an HTTP endpoint that records posts, an SMTP server."""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class HookReceiver:
    """Records every POST; answers with the JSON (or text) configured for its path."""

    def __init__(self):
        self.posts: list[dict] = []
        self.answers: dict[str, tuple[int, str]] = {}
        self.trickle: dict[str, float] = {}  # path -> seconds between two bytes of the answer
        self.on_post = None
        recv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                recv.posts.append(
                    dict(
                        path=parts.path,
                        query={k: v[0] for k, v in parse_qs(parts.query).items()},
                        headers={k.lower(): v for k, v in self.headers.items()},
                        raw=body,
                        json=json.loads(body),
                    )
                )
                if recv.on_post:
                    recv.on_post(recv.posts[-1])
                status, text = recv.answers.get(parts.path, (200, '{"errcode": 0, "code": 0}'))
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                pause = recv.trickle.get(parts.path)
                try:
                    for i in range(0, len(data), 1 if pause else len(data) or 1):
                        self.wfile.write(data[i : i + 1] if pause else data)
                        self.wfile.flush()
                        if pause:
                            time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """aiosmtpd's Controller checks readiness by connecting to the port it was given, so it needs a real one."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(tmp: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


class SMTPReceiver:
    """aiosmtpd on loopback with STARTTLS and LOGIN/PLAIN auth; keeps parsed messages."""

    def __init__(self, tmp: Path, user: str = "watcher", password: str = "s3cret"):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[EmailMessage] = []
        recv = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                recv.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def auth(server, session, envelope, mechanism, data):
            ok = data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535 on failure

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self_signed(tmp),
            require_starttls=True,
            authenticator=auth,
            auth_require_tls=True,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
