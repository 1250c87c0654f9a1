-- Display helpers of the Haskell kernel over ghci (jupyter-service), defined in every
-- session and again after :load/:reload. Only base, every name qualified, so a kernel
-- with any package set accepts them. Each helper writes one display frame on stdout
-- (see framing.py); @TOKEN@ is replaced by the kernel's token.
html :: String -> IO ()
html text = _jupyterDisplay [("text/html", _jupyterUtf8 text)]

svg :: String -> IO ()
svg text = _jupyterDisplay [("image/svg+xml", _jupyterUtf8 text)]

markdown :: String -> IO ()
markdown text = _jupyterDisplay [("text/markdown", _jupyterUtf8 text)]

latex :: String -> IO ()
latex text = _jupyterDisplay [("text/latex", _jupyterUtf8 text)]

pngFile :: FilePath -> IO ()
pngFile path = _jupyterReadFile path >>= pngBytes

pngBytes :: [GHC.Word.Word8] -> IO ()
pngBytes bytes = _jupyterDisplay [("image/png", map fromIntegral bytes)]

jpegFile :: FilePath -> IO ()
jpegFile path = _jupyterReadFile path >>= \bytes ->
  _jupyterDisplay [("image/jpeg", map fromIntegral bytes)]

displayMime :: String -> String -> IO ()
displayMime mime text = _jupyterDisplay [(mime, _jupyterUtf8 text)]

_jupyterReadFile :: FilePath -> IO [GHC.Word.Word8]
_jupyterReadFile path = do
  handle <- System.IO.openBinaryFile path System.IO.ReadMode
  text <- System.IO.hGetContents handle
  let bytes = map (fromIntegral . fromEnum) text
  length bytes `seq` System.IO.hClose handle
  return bytes

_jupyterDisplay :: [(String, [Int])] -> IO ()
_jupyterDisplay parts = do
  let frame = "\30jupyter-display-@TOKEN@\30"
        ++ unwords [mime ++ " " ++ _jupyterBase64 bytes | (mime, bytes) <- parts] ++ "\n"
  mode <- System.IO.hGetBuffering System.IO.stdout
  System.IO.hSetBuffering System.IO.stdout (System.IO.BlockBuffering Nothing)
  System.IO.hPutStr System.IO.stdout frame
  System.IO.hFlush System.IO.stdout
  System.IO.hSetBuffering System.IO.stdout mode

_jupyterUtf8 :: String -> [Int]
_jupyterUtf8 = concatMap (encode . fromEnum)
  where
    encode n
      | n < 0x80 = [n]
      | n < 0x800 = [0xC0 + n `div` 0x40, tail' n 0]
      | n < 0x10000 = [0xE0 + n `div` 0x1000, tail' n 1, tail' n 0]
      | otherwise = [0xF0 + n `div` 0x40000, tail' n 2, tail' n 1, tail' n 0]
    tail' n k = 0x80 + (n `div` (0x40 ^ (k :: Int))) `mod` 0x40

_jupyterBase64 :: [Int] -> String
_jupyterBase64 (a : b : c : rest) = _jupyterQuad a b c 4 ++ _jupyterBase64 rest
_jupyterBase64 [a, b] = _jupyterQuad a b 0 3 ++ "="
_jupyterBase64 [a] = _jupyterQuad a 0 0 2 ++ "=="
_jupyterBase64 [] = ""

_jupyterQuad :: Int -> Int -> Int -> Int -> String
_jupyterQuad a b c keep = take keep (map digit [n `div` 0x40000, n `div` 0x1000, n `div` 0x40, n])
  where
    n = a * 0x10000 + b * 0x100 + c
    digit v = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" !! (v `mod` 0x40)
