"""RegimeFlex plugin for Alpaca: market data (and the brokerage, in ``broker``).

Owns talking to Alpaca's REST APIs: ``client`` (one base-URL-parameterised
HTTP client with the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers
from the environment, retries and error mapping, shared by the data and
trading sides), ``config`` (settings; the trading URL defaults to the
*paper* endpoint), ``data`` (``/v2/stocks/bars`` multi-symbol daily bars
with ``page_token`` pagination and symbol batching) and ``hooks``.
"""

__version__ = "0.1.0"
