"""Typed calls into the Open API+ control, through ``dynamicCall`` exactly as QAxWidget exposes it.

Works with the real ``QAxWidget("KHOPENAPI.KHOpenAPICtrl.1")`` and with the test emulator alike:
both take ``dynamicCall(signature, args)`` and emit the control's events as Qt signals. Every call
must be made on the thread that owns the control (it is not thread-safe).
"""

from __future__ import annotations

from typing import Any, Protocol

PROG_ID = "KHOPENAPI.KHOpenAPICtrl.1"

# OP_ERR codes the worker acts on (KOA's table); the rest are reported with their number.
OP_ERR = {
    0: "정상처리",
    -10: "실패",
    -100: "사용자정보교환 실패",
    -101: "서버접속 실패",
    -102: "버전처리 실패",
    -106: "통신연결종료",
    -200: "시세조회 과부하",
    -201: "REQUEST_INPUT_st Failed",
    -202: "요청 전문 작성 실패",
    -300: "주문 입력값 오류",
    -301: "계좌비밀번호 없음",
    -302: "타인계좌 사용오류",
    -303: "주문가격이 20억원을 초과",
    -304: "주문가격이 50억원을 초과",
    -305: "주문수량이 총발행주수의 1% 초과오류",
    -306: "주문수량은 총발행주수의 3% 초과오류",
    -307: "주문전송 실패",
    -308: "주문전송 과부하",
    -309: "주문수량 300계약 초과",
    -310: "주문수량 500계약 초과",
    -340: "계좌정보 없음",
    -500: "종목코드 없음",
}
LOGIN_ERRORS = {-100: "사용자 정보 교환 실패", -101: "서버 접속 실패", -102: "버전 처리 실패 (버전 업데이트가 필요합니다)"}
# SendOrder's 거래구분 (sHogaGb), and which of them carry a price (the others are sent with price 0).
HOGA_CODES = frozenset({"00", "03", "05", "06", "07", "10", "13", "16", "20", "23", "26", "61", "62", "81"})
PRICED_HOGAS = frozenset({"00", "05", "10", "20", "62"})
PAPER_HOGAS = frozenset({"00", "03"})  # the mock server takes limit and market only
ORDER_TYPES = {("new", "buy"): 1, ("new", "sell"): 2, ("cancel", "buy"): 3, ("cancel", "sell"): 4, ("modify", "buy"): 5, ("modify", "sell"): 6}


class ControlLike(Protocol):
    def dynamicCall(self, signature: str, *args: Any) -> Any: ...


def op_err(code: int) -> str:
    return f"{code} {OP_ERR.get(code, '알 수 없는 오류')}"


class Control:
    def __init__(self, ocx: ControlLike) -> None:
        self.ocx = ocx

    def _call(self, signature: str, *args: Any) -> Any:
        return self.ocx.dynamicCall(signature, *args)

    # Login
    def comm_connect(self) -> int:
        return int(self._call("CommConnect()"))

    def connect_state(self) -> int:
        return int(self._call("GetConnectState()"))

    def login_info(self, tag: str) -> str:
        return str(self._call("GetLoginInfo(QString)", tag))

    def accounts(self) -> list[str]:
        return [a for a in self.login_info("ACCNO").split(";") if a.strip()]

    def is_paper_server(self) -> bool:
        # KOA_Functions first, GetLoginInfo as the fallback: "1" is the mock-trading server.
        gubun = str(self._call("KOA_Functions(QString, QString)", "GetServerGubun", "")).strip()
        if not gubun:
            gubun = self.login_info("GetServerGubun").strip()
        return gubun == "1"

    # Orders: nine arguments, so they go as one list (dynamicCall takes at most eight QVariants).
    def send_order(self, rqname: str, screen: str, account: str, order_type: int, code: str, quantity: int, price: int, hoga: str, original_no: str) -> int:
        args = [rqname, screen, account, order_type, code, quantity, price, hoga, original_no]
        return int(self._call("SendOrder(QString, QString, QString, int, QString, int, int, QString, QString)", args))

    # TR queries
    def set_input_value(self, name: str, value: str) -> None:
        self._call("SetInputValue(QString, QString)", name, value)

    def comm_rq_data(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int:
        return int(self._call("CommRqData(QString, QString, int, QString)", rqname, trcode, prev_next, screen))

    def comm_data(self, trcode: str, rqname: str, index: int, item: str) -> str:
        return str(self._call("GetCommData(QString, QString, int, QString)", trcode, rqname, index, item)).strip()

    def repeat_count(self, trcode: str, rqname: str) -> int:
        return int(self._call("GetRepeatCnt(QString, QString)", trcode, rqname))

    # Real time
    def set_real_reg(self, screen: str, codes: list[str], fids: list[int], opt: str) -> int:
        return int(self._call("SetRealReg(QString, QString, QString, QString)", screen, ";".join(codes), ";".join(map(str, fids)), opt))

    def set_real_remove(self, screen: str, code: str) -> None:
        self._call("SetRealRemove(QString, QString)", screen, code)

    def real_data(self, code: str, fid: int) -> str:
        return str(self._call("GetCommRealData(QString, int)", code, fid))

    def chejan_data(self, fid: int) -> str:
        return str(self._call("GetChejanData(int)", fid))

    # Symbol master (local calls on the control's downloaded master file; no TR limit applies)
    def codes_in_market(self, market: str) -> list[str]:
        return [c for c in str(self._call("GetCodeListByMarket(QString)", market)).split(";") if c.strip()]

    def master_name(self, code: str) -> str:
        return str(self._call("GetMasterCodeName(QString)", code))

    def master_last_price(self, code: str) -> str:
        return str(self._call("GetMasterLastPrice(QString)", code))

    def master_state(self, code: str) -> str:
        return str(self._call("GetMasterStockState(QString)", code))
