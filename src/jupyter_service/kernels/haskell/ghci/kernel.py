"""The Jupyter side: an ipykernel `Kernel` whose cells run in one long-lived ghci (repl.py).

Both ways Jupyter interrupts a kernel (SIGINT to the kernel's process group, or an
interrupt_request that makes the kernel SIGINT itself) end in this process's SIGINT
handler, which passes the signal on to ghci: ghci runs in its own session and sees
neither by itself.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from ipykernel.kernelbase import Kernel

from jupyter_service import __version__
from jupyter_service.kernels.haskell.ghci.framing import FrameError, decode_display
from jupyter_service.kernels.haskell.ghci.process import Sink
from jupyter_service.kernels.haskell.ghci.repl import GhciRepl


class HaskellKernel(Kernel):
    implementation = "jupyter-service-ghci"
    implementation_version = __version__
    language = "haskell"
    # Filled in by kernel_info once ghci has said which GHC it is.
    banner = ""
    language_info: dict[str, Any] = {"name": "haskell"}  # noqa: RUF012
    # Set by `make_kernel_class` (IPKernelApp makes the instance itself).
    repl: GhciRepl

    @property
    def kernel_info(self) -> dict[str, Any]:
        # No debugger (ipykernel's would debug Python) and no subshells: ghci runs one
        # input at a time, on the main thread.
        return {
            **super().kernel_info,
            "supported_features": [],
            "language_info": {
                "name": "haskell",
                "version": self.repl.version,
                "mimetype": "text/x-haskell",
                "file_extension": ".hs",
                "pygments_lexer": "haskell",
                "codemirror_mode": "haskell",
            },
            "banner": (
                f"Haskell over ghci (GHC {self.repl.version}), by jupyter-service; not "
                "IHaskell. Rich output: html, svg, markdown, latex, pngFile, pngBytes, "
                "vegaLite (with aeson)."
            ),
        }

    async def create_subshell_request(self, socket: Any, ident: Any, parent: Any) -> None:
        reply = {
            "status": "error",
            "ename": "NotSupported",
            "evalue": "the Haskell kernel runs one ghci: it has no subshells",
            "traceback": [],
        }
        if self.session is not None:
            self.session.send(socket, "create_subshell_reply", reply, parent, ident)

    def pre_handler_hook(self) -> None:
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self._forward_sigint)

    def post_handler_hook(self) -> None:
        signal.signal(signal.SIGINT, self.saved_sigint_handler)

    def _forward_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self.repl.interrupt()

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        **_ignored: Any,
    ) -> dict[str, Any]:
        sink = Sink(
            stream=(lambda _name, _text: None) if silent else self._send_stream,
            display=(lambda _frame: None) if silent else self._send_display,
        )
        failure = self.repl.execute(code, sink)
        if failure is None:
            return {
                "status": "ok",
                "execution_count": self.execution_count,
                "payload": [],
                "user_expressions": {},
            }
        error = {"ename": failure.ename, "evalue": failure.evalue, "traceback": failure.traceback}
        if not silent:
            self._publish("error", error)
        return {"status": "error", "execution_count": self.execution_count, **error}

    async def do_complete(self, code: str, cursor_pos: int | None) -> dict[str, Any]:
        cursor = len(code) if cursor_pos is None else cursor_pos
        found = self.repl.complete(code, cursor)
        return {
            "status": "ok",
            "matches": found.matches,
            "cursor_start": found.start,
            "cursor_end": found.end,
            "metadata": {},
        }

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        text = self.repl.inspect(code, cursor_pos)
        if text is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        self.repl.shutdown()
        return {"status": "ok", "restart": restart}

    def _publish(self, msg_type: str, content: dict[str, Any]) -> None:
        self.send_response(self.iopub_socket, msg_type, content)  # type: ignore[no-untyped-call]

    def _send_stream(self, name: str, text: str) -> None:
        self._publish("stream", {"name": name, "text": text})

    def _send_display(self, frame: str) -> None:
        try:
            data = decode_display(frame)
        except FrameError as err:
            self._send_stream("stderr", f"a display helper wrote a broken frame: {err}\n")
            return
        self._publish("display_data", {"data": data, "metadata": {}, "transient": {}})


def make_kernel_class(repl: GhciRepl) -> type[HaskellKernel]:
    """The kernel class IPKernelApp instantiates, bound to the ghci started before it."""
    return type("HaskellKernel", (HaskellKernel,), {"repl": repl})
