#!/usr/bin/env python3
"""An independent implementation of ../shared/spec/settlement.md and its extensions in
spec/settlement-extensions.md, and a random case generator.

Written from the spec text alone (Python's decimal module, not the Rust code), so that a
difference between the two shows a misreading on one side. Used by tests/tests/reference.rs:

    python3 tests/reference/settlement.py generate --count 2000 --seed 7
        prints a JSON array of {"case": …, "expected": …}
    python3 tests/reference/settlement.py quote CASE.json
        prints the reference result of one case
"""
import argparse
import json
import random
import sys
from decimal import Decimal, ROUND_HALF_UP, getcontext

getcontext().prec = 60
CENT = Decimal("0.01")


def round2(x):
    # ROUND_HALF_UP in Python's decimal rounds ties away from zero, as the spec asks.
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def d(value):
    return Decimal(str(value))


def money(x):
    return str(round2(x))


def ratio_text(x):
    if x == 0:
        return "0"
    text = format(x.normalize(), "f")
    return text


def banded(bands, low, high):
    """The expense between low and high split over bands [(from, ratio)], each band running
    to the next one's from; returns (exact payment, [(from, ratio, expense)])."""
    exact = Decimal(0)
    shares = []
    for index, (start, rate) in enumerate(bands):
        lo = max(start, low)
        hi = min(bands[index + 1][0], high) if index + 1 < len(bands) else high
        expense = hi - lo if hi > lo else Decimal(0)
        exact += expense * rate
        shares.append((start, rate, expense))
    return exact, shares


def clamp(x):
    return max(Decimal(0), min(Decimal(1), x))


def quote(case):
    policy, person, flags = case["policy"], case["person"], case.get("flags") or {}
    items = case["catalogue"]["items"]
    level = str(case["hospital_level"])
    ful = over_sum = pre_sum = inscp = medfee = Decimal(0)
    for line in case["lines"]:
        qty, price = d(line["qty"]), d(line["unit_price"])
        amount = round2(qty * price)
        medfee += amount
        item = items.get(line["code"])
        if item is None or item["class"] == "C":
            ful += amount
            continue
        over = Decimal(0)
        if item.get("price_cap") is not None and price > d(item["price_cap"]):
            over = round2((price - d(item["price_cap"])) * qty)
        base = amount - over
        pre = round2(base * d(item.get("self_pay_ratio") or 0)) if item["class"] == "B" else Decimal(0)
        over_sum += over
        pre_sum += pre
        inscp += base - pre
    if person["benefit_status"] == "suspended":
        return {"status": "rejected", "reason": "benefits_suspended"}
    if flags.get("work_injury"):
        return {"status": "rejected", "reason": "work_injury"}
    # Extensions (spec/settlement-extensions.md), in their order.
    if flags.get("third_party") and flags.get("third_party_status") == "paid":
        return {"status": "rejected", "reason": "third_party_liable"}
    if flags.get("public_health"):
        return {"status": "rejected", "reason": "public_health"}
    if flags.get("abroad"):
        return {"status": "rejected", "reason": "abroad"}
    filed = (case.get("filing") or {}).get("type")
    if filed is None and policy["cross_province"]["unfiled"] == "refuse":
        return {"status": "rejected", "reason": "not_filed"}
    ytd = case["ytd"]
    deductible = policy["deductible"][level]["first" if int(ytd["admissions"]) == 0 else "repeat"]
    dedc = min(inscp, d(deductible))
    filing = (case.get("filing") or {}).get("type") or "unfiled"
    uplift = d(policy.get("retiree_uplift") or 0) if person.get("retiree") else Decimal(0)
    cross = policy["cross_province"]
    multiplier = cross.get("mode") == "multiplier"

    def adjust(local):
        local = local + uplift
        row = d(cross[filing])
        return clamp(local * row if multiplier else local - row)

    # A resident's contribution tier, when the policy has it, gives the ratio and the cap.
    tier = (policy.get("tiers") or {}).get(str(person.get("contribution_tier")))
    local = d((tier or policy)["ratio"][level])
    annual_cap = d((tier or policy)["annual_cap"])
    pool_ratio = adjust(local)
    segments = (policy.get("segments") or {}).get(level) or []
    bands = [(Decimal(0), pool_ratio)] + [(d(b["from"]), adjust(d(b["ratio"]))) for b in segments]
    remaining = max(Decimal(0), annual_cap - d(ytd["pool_paid"]))
    exact, shares = banded(bands, dedc, inscp)
    raw = round2(exact)
    hifp = min(raw, remaining)
    over_cap = Decimal(0)
    if raw > remaining:
        paid = Decimal(0)
        for start, rate, expense in shares:
            if rate != 0 and paid + expense * rate >= remaining:
                over_cap = round2((inscp - max(start, dedc)) - (remaining - paid) / rate)
                break
            paid += expense * rate
    cat_policy = policy.get("catastrophic") or {"ratio": 0, "cap": 0}
    selfborne = inscp - hifp
    before = d(ytd.get("inscp_selfborne") or 0)
    if cat_policy.get("contributory") and not person.get("large_amount_contributor"):
        cat_raw = Decimal(0)
    elif cat_policy.get("threshold") is not None:
        cat_bands = [(d(cat_policy["threshold"]), d(cat_policy["ratio"]))]
        cat_bands += [(d(b["from"]), d(b["ratio"])) for b in cat_policy.get("bands") or []]
        cat_raw = round2(banded(cat_bands, before, before + selfborne)[0])
    else:
        cat_raw = round2(over_cap * d(cat_policy["ratio"]))
    cat = min(cat_raw, max(Decimal(0), d(cat_policy["cap"]) - d(ytd["catastrophic_paid"])))
    maf = Decimal(0)
    if person.get("assistance_eligible"):
        assist = policy.get("assistance") or {"ratio": 0, "cap": 0}
        left = inscp - hifp - cat
        maf = min(round2(left * d(assist["ratio"])),
                  max(Decimal(0), d(assist["cap"]) - d(ytd["assistance_paid"])))
    employee = str(policy["scheme"]) == "310"
    hifob, hifmi = (cat, Decimal(0)) if employee else (Decimal(0), cat)
    fund = hifp + hifob + hifmi + maf
    psn = medfee - fund
    balance = d(person.get("account_balance") or 0)
    acct = min(balance, psn) if person.get("use_account") else Decimal(0)
    result = {
        "status": "settled",
        "medfee_sumamt": money(medfee), "fulamt_ownpay_amt": money(ful),
        "overlmt_selfpay": money(over_sum), "preselfpay_amt": money(pre_sum),
        "inscp_scp_amt": money(inscp), "act_pay_dedc": money(dedc),
        "pool_ratio": ratio_text(pool_ratio), "hifp_pay": money(hifp),
        "hifob_pay": money(hifob), "hifmi_pay": money(hifmi), "maf_pay": money(maf),
        "fund_pay_sumamt": money(fund), "psn_part_amt": money(psn), "acct_pay": money(acct),
        "psn_cash_pay": money(psn - acct), "balc": money(balance - acct),
        "third_party_recovery": bool(flags.get("third_party")),
        "ytd_after": {
            "admissions": int(ytd["admissions"]) + 1,
            "pool_paid": money(d(ytd["pool_paid"]) + hifp),
            "catastrophic_paid": money(d(ytd["catastrophic_paid"]) + cat),
            "assistance_paid": money(d(ytd["assistance_paid"]) + maf),
            "inscp_selfborne": money(before + selfborne),
        },
    }
    if segments:
        result["pool_bands"] = [{"from": money(start), "ratio": ratio_text(rate), "expense": money(expense)}
                                for start, rate, expense in shares]
    return result


def r2(rng, low, high):
    """A random two-decimal amount as text."""
    return str(Decimal(rng.randint(int(low * 100), int(high * 100))) / 100)


def ratio(rng, low=0, high=100):
    return str(Decimal(rng.randint(low, high)) / 100)


def rising_bands(rng, above_fen):
    """One to three bands whose `from` rise above `above_fen` (in fen)."""
    bands, start = [], above_fen
    for _ in range(rng.randint(1, 3)):
        start += rng.randint(1, 3000000)
        bands.append({"from": str(Decimal(start) / 100), "ratio": ratio(rng, 0, 100)})
    return bands


def generate_case(rng):
    scheme = rng.choice(["310", "390"])
    cap = rng.choice(["50000", "250000", "350000", "600000"])
    policy = {
        "region": rng.choice(["120000", "110000", "310000", "441900"]),
        "scheme": scheme,
        "deductible": {lv: {"first": r2(rng, 0, 2000), "repeat": r2(rng, 0, 800)} for lv in "123"},
        "ratio": {lv: ratio(rng, 0, 100) if rng.random() < 0.1 else ratio(rng, 40, 100) for lv in "123"},
        "annual_cap": cap,
        "catastrophic": {"ratio": ratio(rng, 0, 100), "cap": rng.choice(["0", "100000", "400000"])},
        "assistance": {"ratio": ratio(rng, 0, 100), "cap": rng.choice(["0", "3000", "50000"])},
        "cross_province": {k: ratio(rng, 0, 30) for k in
                           ["long_term", "referral", "emergency", "other_temporary", "unfiled"]},
    }
    if rng.random() < 0.8:
        policy["retiree_uplift"] = ratio(rng, 0, 15)
    items = {}
    for index in range(rng.randint(1, 12)):
        cls = rng.choice("AABBC")
        item = {"class": cls}
        if cls == "B" and rng.random() < 0.9:
            item["self_pay_ratio"] = ratio(rng, 0, 40)
        if rng.random() < 0.4:
            item["price_cap"] = r2(rng, 0, 3000)
        items[f"IT{index:03d}"] = item
    lines = []
    for _ in range(rng.randint(0, 15)):
        code = rng.choice(list(items) + ["UNKNOWN-1"])
        qty = str(Decimal(rng.randint(0, 3000)) / rng.choice([1, 10, 100]))
        price = r2(rng, 0, 5000) if rng.random() < 0.9 else r2(rng, 0, 300000)
        lines.append({"code": code, "qty": qty, "unit_price": price})
    flags = {"work_injury": rng.random() < 0.03, "third_party": rng.random() < 0.1}
    # The extensions, on a few cases each (spec/settlement-extensions.md).
    if flags["third_party"] and rng.random() < 0.5:
        flags["third_party_status"] = rng.choice(["unpaid", "unidentified", "paid"])
    if rng.random() < 0.02:
        flags["public_health"] = True
    if rng.random() < 0.02:
        flags["abroad"] = True
    if rng.random() < 0.05:
        policy["cross_province"]["unfiled"] = "refuse"
    # Issue #13 §8: segmented ratios, a catastrophic threshold with bands, a contributory
    # layer, resident contribution tiers — each on some cases, absent on the rest.
    if rng.random() < 0.15:
        policy["segments"] = {lv: rising_bands(rng, 0) for lv in "123" if rng.random() < 0.7}
    if rng.random() < 0.2:
        threshold = rng.randint(0, 5000000)
        policy["catastrophic"]["threshold"] = str(Decimal(threshold) / 100)
        if rng.random() < 0.6:
            policy["catastrophic"]["bands"] = rising_bands(rng, threshold)
    if rng.random() < 0.1:
        policy["catastrophic"]["contributory"] = True
    tier = None
    if rng.random() < 0.15:
        policy["tiers"] = {str(t): {"ratio": {lv: ratio(rng, 30, 100) for lv in "123"},
                                    "annual_cap": rng.choice(["20000", "150000", "300000"])}
                           for t in range(1, rng.randint(2, 4))}
        tier = rng.choice([None] + [int(t) for t in policy["tiers"]])
    elif rng.random() < 0.1:
        tier = rng.randint(1, 3)
    cap_d = Decimal(cap)
    pool_paid = rng.choice([Decimal(0), Decimal(rng.randint(0, int(cap_d * 100))) / 100,
                            cap_d - Decimal(rng.randint(0, 500000)) / 100, cap_d + 10])
    return {
        "policy": policy,
        "catalogue": {"items": items},
        "person": {
            "retiree": rng.random() < 0.3,
            "assistance_eligible": rng.random() < 0.3,
            "benefit_status": "suspended" if rng.random() < 0.05 else "active",
            "use_account": rng.random() < 0.5,
            "account_balance": r2(rng, 0, 20000),
            **({"contribution_tier": tier} if tier is not None else {}),
            **({"large_amount_contributor": rng.random() < 0.7} if rng.random() < 0.5 else {}),
        },
        "filing": {"type": rng.choice([None, "long_term", "referral", "emergency", "other_temporary"])},
        "hospital_level": rng.randint(1, 3),
        "ytd": {
            "admissions": rng.choice([0, 0, 1, 2, 5]),
            "pool_paid": str(max(pool_paid, Decimal(0))),
            "catastrophic_paid": rng.choice(["0", r2(rng, 0, 400000)]),
            "assistance_paid": rng.choice(["0", r2(rng, 0, 50000)]),
            **({"inscp_selfborne": r2(rng, 0, 100000)} if rng.random() < 0.3 else {}),
        },
        "lines": lines,
        "flags": flags,
    }


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--count", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=1)
    one = sub.add_parser("quote")
    one.add_argument("file")
    args = parser.parse_args()
    if args.command == "generate":
        rng = random.Random(args.seed)
        pairs = []
        for _ in range(args.count):
            case = generate_case(rng)
            pairs.append({"case": case, "expected": quote(case)})
        json.dump(pairs, sys.stdout)
    else:
        with open(args.file) as f:
            json.dump(quote(json.load(f)), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
