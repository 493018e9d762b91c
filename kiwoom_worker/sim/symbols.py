"""The sim exchange's symbol master: real KRX listings with realistic previous closes (on the tick grid).

The server fills its symbol table from this master on every worker hello.
"""

from __future__ import annotations

from typing import Any

# code, Korean name, market, kind, previous close, KOSPI200 member
_ROWS: tuple[tuple[str, str, str, str, int, bool], ...] = (
    ("005930", "삼성전자", "KOSPI", "stock", 71_000, True),
    ("005935", "삼성전자우", "KOSPI", "preferred", 58_900, True),
    ("000660", "SK하이닉스", "KOSPI", "stock", 182_500, True),
    ("373220", "LG에너지솔루션", "KOSPI", "stock", 368_000, True),
    ("207940", "삼성바이오로직스", "KOSPI", "stock", 1_021_000, True),
    ("005380", "현대차", "KOSPI", "stock", 214_500, True),
    ("000270", "기아", "KOSPI", "stock", 96_300, True),
    ("068270", "셀트리온", "KOSPI", "stock", 178_200, True),
    ("035420", "NAVER", "KOSPI", "stock", 213_000, True),
    ("035720", "카카오", "KOSPI", "stock", 41_350, True),
    ("051910", "LG화학", "KOSPI", "stock", 287_500, True),
    ("006400", "삼성SDI", "KOSPI", "stock", 241_000, True),
    ("105560", "KB금융", "KOSPI", "stock", 98_700, True),
    ("055550", "신한지주", "KOSPI", "stock", 55_600, True),
    ("012330", "현대모비스", "KOSPI", "stock", 251_500, True),
    ("028260", "삼성물산", "KOSPI", "stock", 136_400, True),
    ("066570", "LG전자", "KOSPI", "stock", 79_800, True),
    ("003550", "LG", "KOSPI", "stock", 73_400, True),
    ("017670", "SK텔레콤", "KOSPI", "stock", 53_800, True),
    ("030200", "KT", "KOSPI", "stock", 47_150, True),
    ("034020", "두산에너빌리티", "KOSPI", "stock", 24_650, True),
    ("010130", "고려아연", "KOSPI", "stock", 612_000, True),
    ("015760", "한국전력", "KOSPI", "stock", 21_850, True),
    ("096770", "SK이노베이션", "KOSPI", "stock", 112_300, True),
    ("003490", "대한항공", "KOSPI", "stock", 22_950, True),
    ("010950", "S-Oil", "KOSPI", "stock", 58_300, True),
    ("001440", "대한전선", "KOSPI", "stock", 14_380, False),
    ("117580", "대성에너지", "KOSPI", "stock", 1_874, False),
    ("069500", "KODEX 200", "KOSPI", "etf", 35_005, False),
    ("122630", "KODEX 레버리지", "KOSPI", "etf", 19_725, False),
    ("252670", "KODEX 200선물인버스2X", "KOSPI", "etf", 1_984, False),
    ("247540", "에코프로비엠", "KOSDAQ", "stock", 151_600, False),
    ("086520", "에코프로", "KOSDAQ", "stock", 72_900, False),
    ("196170", "알테오젠", "KOSDAQ", "stock", 352_000, False),
    ("293490", "카카오게임즈", "KOSDAQ", "stock", 16_720, False),
    ("0126Z0", "삼성에피스홀딩스", "KOSPI", "stock", 9_980, False),
)

SYMBOLS: dict[str, dict[str, Any]] = {
    code: {"code": code, "name": name, "market": market, "kind": kind, "previous_close": close, "kospi200": k200}
    for code, name, market, kind, close, k200 in _ROWS
}
