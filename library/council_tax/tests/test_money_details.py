"""money.py and details.py: pence, and reading an account number and an amount from free text."""

from __future__ import annotations

import re

import pytest

OXFORD = re.compile(r"^[0-9]{8}$")
LETTERS = re.compile(r"^CT[0-9]{7}$")


@pytest.mark.parametrize(
    ("value", "pence"),
    [
        ("1234.56", 123456),
        (1234.56, 123456),
        ("2000", 200000),
        (2000, 200000),
        ("1,234.50", 123450),
        ("£12", 1200),
        ("0.3", 30),
        (0.1, 10),
        ("120.5", 12050),
    ],
)
def test_to_pence(ct, value, pence):
    assert ct.money.to_pence(value) == pence


@pytest.mark.parametrize("value", ["12.345", "abc", "", "-5", "NaN", "inf", True, None, [1]])
def test_to_pence_refuses_what_is_not_pounds_and_pence(ct, value):
    with pytest.raises(ValueError):
        ct.money.to_pence(value)


def test_pounds_and_instalments(ct):
    assert ct.money.pounds(123456) == "£1,234.56"
    assert ct.money.pounds(30) == "£0.30"
    assert ct.money.pounds(10_000_000) == "£100,000.00"
    assert ct.money.instalments(245000, 10) == (24500, 24500)
    first, rest = ct.money.instalments(163334, 10)
    assert (first, rest) == (16337, 16333) and first + 9 * rest == 163334
    for total in (1, 99, 140000, 490001):
        for count in (10, 12):
            first, rest = ct.money.instalments(total, count)
            assert first + (count - 1) * rest == total and 0 <= first - rest < count


def read(ct, text, expecting=None, pattern=OXFORD, **params):
    return ct.details.read(text, params, pattern, expecting)


@pytest.mark.parametrize(
    ("text", "expecting", "account", "amount"),
    [
        ("12345678", "account", "12345678", None),
        ("my account number is 12345678", None, "12345678", None),
        ("it's 1234 5678", "account", "12345678", None),
        ("1234-5678", "account", "12345678", None),
        ("£120.50", "amount", None, 12050),
        ("£120.50", "account", None, 12050),  # money said as money, whatever was asked
        ("120.50", "account", None, 12050),  # pence make it money
        ("120", "amount", None, 12000),
        ("50 quid", None, None, 5000),
        ("75 punt", None, None, 7500),
        ("80p", "amount", None, 80),
        ("£1,234.56", None, None, 123456),
        ("pay £100 on account 12345678", None, "12345678", 10000),
        ("account 12345678 and 45", None, "12345678", 4500),
        ("12345678 £12345678", None, "12345678", None),  # the amount is out of range, the account is fine
        ("20 pounds", "account", None, 2000),
    ],
)
def test_reads_accounts_and_amounts(ct, text, expecting, account, amount):
    said = read(ct, text, expecting)
    assert (said.account, said.amount) == (account, amount), said


def test_a_bare_number_is_not_an_amount_unless_one_was_asked_for(ct):
    said = read(ct, "120", expecting="account")
    assert said.amount is None and said.account_problem
    said = read(ct, "120", expecting="change")
    assert said.amount == 12000 and not said.account_problem


def test_problems(ct):
    assert read(ct, "1234567", "account").account_problem  # seven digits, Oxford wants eight
    assert read(ct, "my account is 1234", None).account_problem
    assert read(ct, "£12.345", "amount").amount_problem == "format"
    assert read(ct, "12.345", "amount").amount_problem == "format"
    assert read(ct, "£0.20", "amount").amount_problem == "range"
    assert read(ct, "£100,000.01", "amount").amount_problem == "range"
    assert read(ct, "20p", "amount").amount_problem == "range"
    assert read(ct, "no, change it", "confirm").empty
    assert read(ct, "", "account").empty


def test_the_councils_own_format(ct):
    assert read(ct, "ct1234567", "account", pattern=LETTERS).account == "CT1234567"
    assert read(ct, "CT 1234567", "account", pattern=LETTERS).account == "CT1234567"
    assert read(ct, "12345678", "account", pattern=LETTERS).account_problem


def test_parameters_are_hints_when_the_text_has_no_digits(ct):
    assert read(ct, "fifty pounds", "amount", amount=50).amount == 5000
    assert read(ct, "", None, amount={"amount": 12.5, "currency": "GBP"}).amount == 1250
    # @sys.number reads an account number as an amount: the text says otherwise.
    said = read(ct, "12345678", "account", amount=12345678, account="12345678")
    assert (said.account, said.amount) == ("12345678", None)
    assert read(ct, "", None, account="1234 5678").account == "12345678"
    assert read(ct, "", None, account="nope").account is None
