"""The nginx and Caddy examples in docs/web.md, run as written (with test ports and a
throwaway certificate): the page works over TLS through them, the session cookie gets
`Secure` from their X-Forwarded-Proto, and the live view's events pass unbuffered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from receptionist.sandbox.launcher import free_port
from tests.unit.test_web_access import hidden
from tests.waiting import eventually
from tests.web_site import PASSWORD, make_site, serving

DOC = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text()


def example(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", DOC, re.S)
    assert found, f"docs/web.md has no {language} example"
    return found.group(1)


def certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.asynccontextmanager
async def running(
    args: list[str], port: int, env: dict[str, str] | None = None
) -> AsyncIterator[None]:
    tool = shutil.which(args[0])
    assert tool, f"{args[0]} is missing: `make test` installs it"
    proc = await asyncio.create_subprocess_exec(
        tool, *args[1:], env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip

    async def listening() -> bool:
        assert proc.returncode is None, (await proc.stderr.read()).decode() if proc.stderr else ""
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    try:
        await eventually(listening, timeout=15)
        yield
    finally:
        # Killed: a graceful stop would wait (Caddy: over a minute) for the proxied
        # event stream to end, which only the web app's own shutdown does.
        proc.kill()
        await proc.wait()


async def check_through(url: str) -> None:
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # a throwaway cert
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(ssl=insecure)
    async with aiohttp.ClientSession(url, cookie_jar=jar, connector=connector) as http:
        page = await (await http.get("/live")).text()
        form = {"username": "admin", "password": PASSWORD, "csrf": hidden(page, "csrf"),
                "next": "/live"}  # fmt: skip
        response = await http.post("/login", data=form, allow_redirects=False)
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        async with http.get(response.headers["Location"]) as live:
            assert live.status == 200 and "Calls in progress" in await live.text()
        async with http.get("/live/events") as events:
            line = await asyncio.wait_for(events.content.readline(), 5)
            assert line == b"event: calls\n"


async def test_the_nginx_example_serves_the_page_over_tls(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    cert, key = certificate(tmp_path)
    tls_port, http_port = free_port(), free_port()
    async with serving(site.settings, site.businesses) as base:
        server = (
            example("nginx")
            .replace("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("/etc/ssl/office/receptionist.crt", str(cert))
            .replace("/etc/ssl/office/receptionist.key", str(key))
            .replace("http://127.0.0.1:9098", base)
        )
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = " ".join(f"{kind}_temp_path {tmp_path}/{kind};" for kind in kinds)
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            # One process (no workers), so stopping the test's nginx is one kill.
            f"daemon off; master_process off; pid {tmp_path}/nginx.pid;\n"
            f"error_log {tmp_path}/error.log;\n"
            f"events {{}}\nhttp {{ access_log off; {temp}\n{server}\n}}\n"
        )
        async with running(["nginx", "-c", str(conf), "-p", str(tmp_path)], tls_port):
            await check_through(f"https://127.0.0.1:{tls_port}")


async def test_the_caddy_example_serves_the_page_over_tls(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    tls_port = free_port()
    async with serving(site.settings, site.businesses) as base:
        # Test-only global options: ports of our own, no admin API, no system trust store.
        options = (f"{{\n admin off\n skip_install_trust\n auto_https disable_redirects\n"
                   f" http_port {free_port()}\n https_port {tls_port}\n}}\n")  # fmt: skip
        site_block = (
            example("caddyfile")
            .replace("receptionist.office.lan {", f"localhost:{tls_port} {{")
            .replace("127.0.0.1:9098", base.removeprefix("http://"))
        )
        (tmp_path / "Caddyfile").write_text(options + site_block)
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
        config = str(tmp_path / "Caddyfile")
        command = ["caddy", "run", "--config", config, "--adapter", "caddyfile"]
        async with running(command, tls_port, env):
            await check_through(f"https://localhost:{tls_port}")
