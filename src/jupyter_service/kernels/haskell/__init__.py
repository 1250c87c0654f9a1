"""Stable Haskell kernels: Hackage names mapped to Debian's builds (`debian`), a package DB
per kernel (`pkgdb`), the `Language` backend (`backend`), and the kernel process itself, a
Jupyter kernel over one long-lived ghci (`ghci`). Importing this package imports none of
them: the kernel process starts through it."""
