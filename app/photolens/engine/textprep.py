"""How a model wants a query's text before its tokenizer sees it, read from its manifest.

Each family of joint models was trained on text prepared its own way, and Immich's runtime (whose
ONNX exports Photolens downloads) prepares it the same way:
- every model: runs of whitespace become one space;
- `"clean": "canonicalize"` (SigLIP and SigLIP 2, whose open_clip configs say so): ASCII
  punctuation removed and the text lower-cased, since their tokenizers are case-sensitive and
  the models saw only canonical captions;
- `"language_prefix": "flores200"` (NLLB-CLIP): the query's language as a FLORES-200 code
  (`spa_Latn`) written in front of the text; the NLLB tokenizer keeps the code as one token.
The query language is the one given, else the system's (LC_ALL, LC_MESSAGES, LANG), else English.
"""
from __future__ import annotations

import os
import string

from .errors import ModelError

__all__ = ["CLEAN_MODES", "FLORES200", "clean_text", "flores_code", "prepare_text", "system_language",
           "check_text_spec"]

CLEAN_MODES = ("whitespace", "canonicalize")
LANGUAGE_PREFIXES = ("flores200",)
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)
# NLLB-CLIP is trained with a code on every caption; English is the code Immich falls back to.
DEFAULT_FLORES = "eng_Latn"

# ISO 639-1 (or locale) language -> FLORES-200 code, for the languages people most often search
# in. A language missing here falls back to DEFAULT_FLORES (the model still reads the words).
FLORES200 = {
    "af": "afr_Latn", "ar": "arb_Arab", "az": "azj_Latn", "be": "bel_Cyrl", "bg": "bul_Cyrl",
    "bn": "ben_Beng", "ca": "cat_Latn", "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn",
    "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn",
    "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "ga": "gle_Latn",
    "gl": "glg_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn", "hu": "hun_Latn",
    "hy": "hye_Armn", "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
    "ka": "kat_Geor", "kk": "kaz_Cyrl", "ko": "kor_Hang", "lt": "lit_Latn", "lv": "lvs_Latn",
    "mk": "mkd_Cyrl", "mr": "mar_Deva", "ms": "zsm_Latn", "nb": "nob_Latn", "nl": "nld_Latn",
    "nn": "nno_Latn", "no": "nob_Latn", "pl": "pol_Latn", "pt": "por_Latn", "ro": "ron_Latn",
    "ru": "rus_Cyrl", "sk": "slk_Latn", "sl": "slv_Latn", "sr": "srp_Cyrl", "sv": "swe_Latn",
    "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai", "tr": "tur_Latn",
    "uk": "ukr_Cyrl", "ur": "urd_Arab", "vi": "vie_Latn", "zh": "zho_Hans", "zh_tw": "zho_Hant",
    "zh_hk": "zho_Hant",
}


def clean_text(text: str, mode: str = "whitespace") -> str:
    text = " ".join(text.split())
    if mode == "canonicalize":
        text = text.translate(_NO_PUNCTUATION).lower()
    return text


def system_language() -> str | None:
    """The user's language from the locale environment ("es_ES.UTF-8" -> "es_es"), or None."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        tag = value.split(".")[0].split("@")[0].replace("-", "_").lower()
        if tag and tag not in ("c", "posix"):
            return tag
    return None


def flores_code(language: str | None) -> str:
    """FLORES-200 code for a language tag ("es", "es_MX", "zh-TW", or a code itself)."""
    if not language:
        return DEFAULT_FLORES
    if language in FLORES200.values():
        return language
    tag = language.replace("-", "_").lower()
    return FLORES200.get(tag) or FLORES200.get(tag.split("_")[0]) or DEFAULT_FLORES


def check_text_spec(textual: dict) -> None:
    """A manifest's text options are ones this version knows (an unknown one is a newer model)."""
    clean = textual.get("clean", "whitespace")
    if clean not in CLEAN_MODES:
        raise ModelError(f"unknown text cleaning {clean!r} (this version knows {', '.join(CLEAN_MODES)})")
    prefix = textual.get("language_prefix")
    if prefix is not None and prefix not in LANGUAGE_PREFIXES:
        raise ModelError(f"unknown language prefix {prefix!r} (this version knows {', '.join(LANGUAGE_PREFIXES)})")


def prepare_text(text: str, textual: dict, language: str | None = None) -> str:
    """The text a model's tokenizer is given for one query."""
    text = clean_text(text, textual.get("clean", "whitespace"))
    if textual.get("language_prefix") == "flores200":
        text = f"{flores_code(language or system_language())}{text}"
    return text
