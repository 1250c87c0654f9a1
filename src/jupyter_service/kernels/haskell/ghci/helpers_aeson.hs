-- The Vega-Lite helper: defined only where aeson is among the kernel's packages. aeson's
-- `encode` gives a lazy ByteString, whose `show` is a String literal of its bytes: read
-- back, that is the JSON's UTF-8 without naming the (possibly hidden) bytestring package.
vegaLite :: Data.Aeson.Value -> IO ()
vegaLite spec = _jupyterDisplay
  [ ("application/vnd.vegalite.v5+json", map fromEnum (read (show (Data.Aeson.encode spec)) :: String))
  , ("text/plain", _jupyterUtf8 "<Vega-Lite chart>")
  ]
