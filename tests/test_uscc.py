"""The unified social credit code check (GB 32100-2015): a pure function, no app needed."""

import pytest

from marketplace.orgs.uscc import ALPHABET, check_uscc, organization_type, with_check_character

EXAMPLES = ["53100000500019795A", "91350100M000100Y43"]  # DOMAIN.md


@pytest.mark.parametrize("code", EXAMPLES)
def test_domain_examples_pass(code):
    assert check_uscc(code) == code


@pytest.mark.parametrize("code", EXAMPLES)
def test_every_single_character_change_is_rejected(code):
    tried = 0
    for position in range(18):
        for ch in ALPHABET + "IOZSVa-":
            if ch == code[position] or ch.upper() == code[position]:
                continue
            changed = code[:position] + ch + code[position + 1 :]
            with pytest.raises(ValueError):
                check_uscc(changed)
            tried += 1
    assert tried >= 18 * 30


def test_lower_case_and_surrounding_spaces_are_normalised():
    assert check_uscc("  91350100m000100y43\t") == "91350100M000100Y43"
    assert check_uscc("\n53100000500019795a ") == "53100000500019795A"


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_named(letter):
    code = "53100000500019795A"
    bad = code[:9] + letter + code[10:]
    with pytest.raises(ValueError) as info:
        check_uscc(bad)
    message = str(info.value)
    assert f"'{letter}'" in message and "Character 10" in message
    # Lower case is upper-cased first and then refused with the same message.
    with pytest.raises(ValueError, match=f"'{letter}'"):
        check_uscc(bad.lower())


@pytest.mark.parametrize(
    ("code", "length"),
    [("53100000500019795", 17), ("53100000500019795AA", 19), ("", 0), ("   ", 0)],
)
def test_wrong_length_says_how_long(code, length):
    with pytest.raises(ValueError, match=f"18 characters; this one has {length}"):
        check_uscc(code)


def test_inner_spaces_and_punctuation_are_refused():
    with pytest.raises(ValueError, match="18 characters"):
        check_uscc("5310 0000500019795A")
    with pytest.raises(ValueError, match="not a digit or an allowed capital letter"):
        check_uscc("53100000-00019795A")


def test_division_code_must_be_digits():
    code = with_check_character("53A0000050001979" + "5")
    with pytest.raises(ValueError, match="division code"):
        check_uscc(code)


def test_wrong_check_character_message():
    with pytest.raises(ValueError, match="check character"):
        check_uscc("53100000500019795B")


@pytest.mark.parametrize("value", [None, 53100000500019795, b"53100000500019795A", ["53100000500019795A"]])
def test_non_strings_are_refused(value):
    with pytest.raises(ValueError, match="must be text"):
        check_uscc(value)


def test_check_character_31_becomes_0():
    # Find a prefix whose weighted sum is a multiple of 31: its check character must be '0'. The
    # weights and character values are GB 32100's, written out here (the module uses python-stdnum).
    values = {ch: i for i, ch in enumerate(ALPHABET)}
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    for tail in range(10_000):
        prefix = f"5211010100{tail:07d}"
        if sum(values[c] * w for c, w in zip(prefix, weights, strict=True)) % 31 == 0:
            assert with_check_character(prefix).endswith("0")
            assert check_uscc(with_check_character(prefix))
            break
    else:  # pragma: no cover
        pytest.fail("no prefix with a zero remainder found")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("51", "social_group"),
        ("52", "social_service_agency"),
        ("53", "foundation"),
        ("59", "other_civil_affairs"),
        ("54", None),
        ("91", None),
        ("12", None),
    ],
)
def test_organization_type_from_department_and_category(prefix, expected):
    code = with_check_character(f"{prefix}110101MJ0000001")
    assert check_uscc(code) == code
    assert organization_type(code) == expected
