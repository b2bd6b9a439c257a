#!/usr/bin/env python3
"""Generates the treatment-place catalogues under data/catalogue/ (deterministic).

The national catalogue (国家医保药品/医疗服务项目/医用耗材目录) is not public as a machine-readable
file here, so these catalogues are *generated realistically*: real item names and typical
prices, codes in the national code shapes (西药 X…, 中成药 Z…, 医疗服务项目 15 digits,
医用耗材 C…), class A/B/C in realistic proportions, class-B pre-self-pay shares of 5–20 %
(domain.md §4.1: "[R] real regions typically 5–20%"), and price caps (pric_uplmt_amt) on a
share of items. Each treatment province gets its own prices and shares, since the
catalogue is the treatment place's (就医地目录).

Run: python3 scripts/gen_catalogue.py   (rewrites data/catalogue/*.toml)
"""
import random
from decimal import Decimal, ROUND_HALF_UP
from pathlib import Path

REGIONS = {
    "440000": ("广东省 Guangdong", Decimal("1.00")),
    "110000": ("北京市 Beijing", Decimal("1.12")),
    "310000": ("上海市 Shanghai", Decimal("1.10")),
    "120000": ("天津市 Tianjin", Decimal("1.03")),
    "330000": ("浙江省 Zhejiang", Decimal("1.05")),
}

# (name, ATC level-4 code, dosage-form code, typical unit price, class weights A/B/C)
WESTERN = [
    ("阿莫西林胶囊", "J01CA", "A001", "0.35", (8, 2, 0)),
    ("头孢呋辛钠注射剂", "J01DC", "B005", "12.60", (3, 7, 0)),
    ("头孢曲松钠注射剂", "J01DD", "B005", "9.80", (4, 6, 0)),
    ("左氧氟沙星注射液", "J01MA", "B001", "18.40", (2, 8, 0)),
    ("莫西沙星片", "J01MA", "A002", "16.90", (0, 10, 0)),
    ("甲硝唑片", "P01AB", "A002", "0.12", (10, 0, 0)),
    ("二甲双胍片", "A10BA", "A002", "0.28", (10, 0, 0)),
    ("格列美脲片", "A10BB", "A002", "1.45", (6, 4, 0)),
    ("门冬胰岛素注射液", "A10AB", "B001", "58.00", (0, 10, 0)),
    ("阿托伐他汀钙片", "C10AA", "A002", "2.85", (5, 5, 0)),
    ("瑞舒伐他汀钙片", "C10AA", "A002", "3.20", (2, 8, 0)),
    ("氨氯地平片", "C08CA", "A002", "0.95", (9, 1, 0)),
    ("硝苯地平控释片", "C08CA", "A003", "3.10", (4, 6, 0)),
    ("阿司匹林肠溶片", "B01AC", "A004", "0.15", (10, 0, 0)),
    ("氯吡格雷片", "B01AC", "A002", "3.40", (3, 7, 0)),
    ("肝素钠注射液", "B01AB", "B001", "6.50", (8, 2, 0)),
    ("低分子肝素钙注射液", "B01AB", "B001", "28.00", (0, 10, 0)),
    ("奥美拉唑肠溶胶囊", "A02BC", "A001", "0.85", (7, 3, 0)),
    ("泮托拉唑钠注射剂", "A02BC", "B005", "21.50", (0, 10, 0)),
    ("氯化钠注射液", "B05BB", "B001", "2.30", (10, 0, 0)),
    ("葡萄糖注射液", "B05BA", "B001", "2.60", (10, 0, 0)),
    ("复方氨基酸注射液", "B05BA", "B001", "32.00", (0, 8, 2)),
    ("人血白蛋白", "B05AA", "B005", "380.00", (0, 8, 2)),
    ("呋塞米注射液", "C03CA", "B001", "0.90", (10, 0, 0)),
    ("多巴胺注射液", "C01CA", "B001", "3.20", (10, 0, 0)),
    ("地塞米松磷酸钠注射液", "H02AB", "B001", "0.75", (10, 0, 0)),
    ("布洛芬缓释胶囊", "M01AE", "A001", "0.60", (8, 2, 0)),
    ("丙泊酚乳状注射液", "N01AX", "B001", "42.00", (4, 6, 0)),
    ("瑞芬太尼注射剂", "N01AH", "B005", "95.00", (0, 10, 0)),
    ("罗哌卡因注射液", "N01BB", "B001", "36.00", (0, 10, 0)),
    ("紫杉醇注射液", "L01CD", "B001", "520.00", (0, 10, 0)),
    ("顺铂注射剂", "L01XA", "B005", "28.00", (6, 4, 0)),
    ("曲妥珠单抗注射剂", "L01FD", "B005", "1982.00", (0, 10, 0)),
    ("利妥昔单抗注射液", "L01FA", "B001", "1418.00", (0, 10, 0)),
    ("奥希替尼片", "L01EB", "A002", "170.00", (0, 10, 0)),
    ("头孢他啶注射剂", "J01DD", "B005", "15.80", (3, 7, 0)),
    ("美罗培南注射剂", "J01DH", "B005", "68.00", (0, 10, 0)),
    ("万古霉素注射剂", "J01XA", "B005", "95.00", (0, 10, 0)),
    ("人工牛黄甲硝唑胶囊", "P01AB", "A001", "0.30", (0, 0, 10)),
    ("重组人生长激素注射液", "H01AC", "B001", "260.00", (0, 2, 8)),
]
PATENT = [
    ("复方丹参滴丸", "ZA12", "0.45", (6, 4, 0)),
    ("血塞通注射液", "ZA12", "18.00", (0, 10, 0)),
    ("丹红注射液", "ZA12", "25.00", (0, 8, 2)),
    ("连花清瘟胶囊", "ZA03", "0.55", (5, 5, 0)),
    ("银黄颗粒", "ZA03", "1.10", (3, 7, 0)),
    ("六味地黄丸", "ZA09", "0.40", (8, 2, 0)),
    ("安宫牛黄丸", "ZA10", "460.00", (0, 6, 4)),
    ("参麦注射液", "ZA09", "22.00", (0, 10, 0)),
    ("藿香正气水", "ZA04", "0.80", (10, 0, 0)),
    ("阿胶", "ZA09", "18.50", (0, 0, 10)),
]
SERVICES = [
    ("床位费（三人间）", "0011", "50.00", (10, 0, 0)),
    ("床位费（单人间）", "0011", "160.00", (0, 4, 6)),
    ("Ⅰ级护理", "0012", "35.00", (10, 0, 0)),
    ("特级护理", "0012", "120.00", (10, 0, 0)),
    ("住院诊查费", "0011", "20.00", (10, 0, 0)),
    ("重症监护", "0012", "260.00", (10, 0, 0)),
    ("静脉输液", "0012", "8.00", (10, 0, 0)),
    ("肌肉注射", "0012", "3.00", (10, 0, 0)),
    ("大换药", "0012", "45.00", (10, 0, 0)),
    ("血常规检查", "0025", "20.00", (10, 0, 0)),
    ("肝功能检查", "0025", "65.00", (10, 0, 0)),
    ("肾功能检查", "0025", "40.00", (10, 0, 0)),
    ("心肌酶谱", "0025", "90.00", (10, 0, 0)),
    ("常规心电图", "0023", "25.00", (10, 0, 0)),
    ("彩色多普勒超声", "0023", "180.00", (7, 3, 0)),
    ("X线计算机体层(CT)平扫", "0023", "260.00", (4, 6, 0)),
    ("磁共振(MRI)平扫", "0023", "580.00", (0, 10, 0)),
    ("正电子发射断层显像(PET-CT)", "0023", "7000.00", (0, 2, 8)),
    ("腹腔镜胆囊切除术", "0031", "2200.00", (6, 4, 0)),
    ("阑尾切除术", "0031", "1100.00", (10, 0, 0)),
    ("经皮冠状动脉支架置入术", "0031", "3800.00", (3, 7, 0)),
    ("冠状动脉造影术", "0031", "1900.00", (6, 4, 0)),
    ("人工全髋关节置换术", "0031", "5200.00", (3, 7, 0)),
    ("剖宫产术", "0031", "1500.00", (10, 0, 0)),
    ("血液透析", "0031", "420.00", (10, 0, 0)),
    ("全身麻醉", "0033", "1200.00", (10, 0, 0)),
    ("达芬奇机器人辅助手术", "0031", "30000.00", (0, 0, 10)),
    ("康复评定", "0034", "80.00", (7, 3, 0)),
]
CONSUMABLES = [
    ("一次性使用输液器", "0201", "4.50", (8, 2, 0)),
    ("一次性使用无菌注射器", "0201", "0.90", (10, 0, 0)),
    ("中心静脉导管", "0204", "380.00", (0, 10, 0)),
    ("导尿管", "0204", "18.00", (8, 2, 0)),
    ("可吸收缝合线", "0105", "160.00", (0, 10, 0)),
    ("冠脉药物洗脱支架", "0301", "700.00", (0, 10, 0)),
    ("冠脉球囊扩张导管", "0301", "1500.00", (0, 10, 0)),
    ("人工髋关节假体", "0303", "7000.00", (0, 10, 0)),
    ("人工晶体", "0307", "2600.00", (0, 8, 2)),
    ("心脏起搏器", "0302", "32000.00", (0, 10, 0)),
    ("吻合器", "0105", "2400.00", (0, 10, 0)),
    ("止血纱布", "0106", "260.00", (0, 6, 4)),
]

MANUFACTURERS = 4  # variants of each generic from different manufacturers/specs


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def pick_class(rng: random.Random, weights) -> str:
    return rng.choices(["A", "B", "C"], weights=weights)[0]


def item(rng, code, name, base, weights, price_factor, cap_share):
    cls = pick_class(rng, weights)
    price = Decimal(base) * price_factor * Decimal(str(round(rng.uniform(0.8, 1.25), 2)))
    entry = {"name": name, "class": cls, "typical_price": money(price)}
    if cls == "B":
        entry["self_pay_ratio"] = rng.choice(["0.05", "0.1", "0.1", "0.15", "0.2"])
    if cls != "C" and rng.random() < cap_share:
        # The cap sits a little below or above the typical price, so some bills exceed it.
        entry["price_cap"] = money(price * Decimal(str(round(rng.uniform(0.85, 1.1), 2))))
    return code, entry


def generate(region: str, price_factor: Decimal):
    rng = random.Random(int(region))
    items = []
    for (name, atc, form, base, weights) in WESTERN:
        generic = rng.randint(1, 999)
        for m in range(MANUFACTURERS):
            code = f"X{atc}{'ABCDEFGH'[generic % 8]}{generic:03d}{form}{rng.randint(10101, 99999)}{m:04d}"
            items.append(item(rng, code, f"{name}（{m + 1}号厂家）", base, weights, price_factor, 0.35))
    for (name, cls_code, base, weights) in PATENT:
        generic = rng.randint(1, 9999)
        for m in range(MANUFACTURERS):
            code = f"Z{cls_code}{'ABCD'[m]}{generic:04d}{rng.randint(1010100, 9999999)}{m:02d}"
            items.append(item(rng, code, f"{name}（{m + 1}号厂家）", base, weights, price_factor, 0.3))
    for (name, group, base, weights) in SERVICES:
        for variant in range(3):
            code = f"{group}{rng.randint(10, 99)}{rng.randint(1000, 9999)}{variant:01d}0000"[:15]
            label = name if variant == 0 else f"{name}（加收{variant}）"
            items.append(item(rng, code, label, base, weights, price_factor, 0.9))
    for (name, group, base, weights) in CONSUMABLES:
        for m in range(MANUFACTURERS):
            code = f"C{group}{rng.randint(10, 99)}{rng.randint(100, 999)}{rng.randint(1000, 9999)}{m:03d}{rng.randint(100, 999)}"
            items.append(item(rng, code, f"{name}（{m + 1}号注册证）", base, weights, price_factor, 0.6))
    return dict(items)


def main():
    out = Path(__file__).resolve().parent.parent / "data" / "catalogue"
    out.mkdir(parents=True, exist_ok=True)
    for region, (name, factor) in REGIONS.items():
        items = generate(region, factor)
        lines = [
            f"# {name} — treatment-place catalogue (就医地目录) used to classify bill lines.",
            "# GENERATED REALISTICALLY by scripts/gen_catalogue.py: real item names and typical prices,",
            "# national code shapes, class A/B/C in realistic proportions; not an official catalogue.",
            "# `typical_price` feeds the bill simulator; the engine reads class, self_pay_ratio, price_cap.",
            f'region = "{region}"',
            f'name = "{name}"',
            'version = "2026.11-generated"',
            "",
        ]
        for code, entry in sorted(items.items()):
            lines.append(f"[items.{code}]")
            for key in ("name", "class", "self_pay_ratio", "price_cap", "typical_price"):
                if key in entry:
                    lines.append(f'{key} = "{entry[key]}"')
            lines.append("")
        (out / f"{region}.toml").write_text("\n".join(lines), encoding="utf-8")
        print(f"{region}: {len(items)} items")


if __name__ == "__main__":
    main()
