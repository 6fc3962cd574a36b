"""GB/T 4754-2017 industry codes: a section letter and up to four digits whose division belongs to the section."""

from __future__ import annotations

import re
from functools import lru_cache

# Section → (first division, last division) and its Chinese name.
SECTIONS: dict[str, tuple[int, int, str]] = {
    "A": (1, 5, "农、林、牧、渔业"),
    "B": (6, 12, "采矿业"),
    "C": (13, 43, "制造业"),
    "D": (44, 46, "电力、热力、燃气及水生产和供应业"),
    "E": (47, 50, "建筑业"),
    "F": (51, 52, "批发和零售业"),
    "G": (53, 60, "交通运输、仓储和邮政业"),
    "H": (61, 62, "住宿和餐饮业"),
    "I": (63, 65, "信息传输、软件和信息技术服务业"),
    "J": (66, 69, "金融业"),
    "K": (70, 70, "房地产业"),
    "L": (71, 72, "租赁和商务服务业"),
    "M": (73, 75, "科学研究和技术服务业"),
    "N": (76, 79, "水利、环境和公共设施管理业"),
    "O": (80, 82, "居民服务、修理和其他服务业"),
    "P": (83, 83, "教育"),
    "Q": (84, 85, "卫生和社会工作"),
    "R": (86, 90, "文化、体育和娱乐业"),
    "S": (91, 96, "公共管理、社会保障和社会组织"),
    "T": (97, 97, "国际组织"),
}

# High-tech manufacturing (国家统计局 高技术产业（制造业）分类 2017): group name → code prefixes.
HIGH_TECH_MANUFACTURING: dict[str, tuple[str, ...]] = {
    "医药制造": ("C27",),
    "航空、航天器及设备制造": ("C374", "C3963"),
    "电子及通信设备制造": ("C39",),
    "计算机及办公设备制造": ("C391", "C3474", "C3475"),
    "医疗仪器设备及仪器仪表制造": ("C358", "C40"),
    "信息化学品制造": ("C2664", "C2665", "C3985"),
}

_CODE = re.compile(r"^([A-T])(\d{2,4})?$")


def industry_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 4754-2017 code; None when it is."""
    m = _CODE.match(code)
    if not m:
        return "行业代码应为门类字母A–T加2至4位数字 (section letter A–T plus 2–4 digits, e.g. C3911)"
    section, digits = m.group(1), m.group(2)
    if digits:
        division = int(digits[:2])
        low, high, name = SECTIONS[section]
        if not low <= division <= high:
            return f"大类{digits[:2]}不属于门类{section}{name} (division must be {low:02d}–{high:02d})"
    return None


def normalise_industry(code: str) -> str:
    return code.strip().upper()


def section_of(code: str) -> str:
    return code[:1]


def section_name(section: str) -> str:
    return SECTIONS[section][2] if section in SECTIONS else section


def is_manufacturing(code: str) -> bool:
    if not code.startswith("C") or len(code) < 3:
        return code == "C"
    return 13 <= int(code[1:3]) <= 43


@lru_cache(maxsize=8192)
def high_tech_group(code: str) -> str | None:
    """Memoised: asked once per drawdown of a bulk load, of a few hundred distinct codes."""
    for group, prefixes in HIGH_TECH_MANUFACTURING.items():
        if any(code.startswith(p) for p in prefixes):
            return group
    return None
