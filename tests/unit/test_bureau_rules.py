"""Bureau rules from the config: tag removal, file-name templates, per-press folders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from asyncpdf.cli import main
from asyncpdf.config import load_settings
from asyncpdf.errors import ConfigError
from asyncpdf.pdf.model import Analysis, Artefacts, PageAnalysis
from asyncpdf.pdf.naming import delivered_name, inks_short
from asyncpdf.pipeline.steps import plan_deliveries
from tests.support import shop_config


def plate(*inks: str) -> PageAnalysis:
    return PageAnalysis(
        media_mm=(1030.0, 770.0), plate_mm=(1030, 770), inks=inks, press="Speedmaster"
    )


# 3 + 2 = 5 plates; together the pages have the inks C, M, Y and Reflex Blue.
ANALYSIS = Analysis(
    file="12345_Buklet_Korol.pdf",
    size=1,
    is_pdf=True,
    pages=(plate("Cyan", "Magenta", "Yellow"), plate("Yellow", "PANTONE Reflex Blue C")),
    bureau="Korol",
)


@pytest.mark.parametrize(
    ("inks", "short"),
    [
        (["Cyan", "Magenta", "Yellow", "Black"], ""),
        (["Black", "Yellow", "Magenta", "Cyan"], ""),
        (["Cyan", "Magenta", "Yellow", "PANTONE Reflex Blue C"], "CMY-ReflexBlueC"),
        (["Cyan", "Magenta", "Yellow", "Black", "PANTONE Warm Red C"], "CMYK-WarmRedC"),
        (["Black", "Varnish"], "K-Varnish"),
        (["PANTONE 871 C"], "871C"),
        ([], ""),
    ],
)
def test_inks_short(inks: list[str], short: str) -> None:
    assert inks_short(inks) == short


def test_template_gives_the_bureaus_name() -> None:
    template = "{stem}_{plate_w}_{plates}Plates_{inks_short}{ext}"
    name = delivered_name("12345_Buklet_KOROL.pdf", "Korol", template, ANALYSIS)
    assert name == "12345_Buklet_1030_5Plates_CMY-ReflexBlueC.pdf"


def test_template_fields_and_empty_fields_leave_no_stray_separators() -> None:
    cmyk = replace(ANALYSIS, pages=(plate("Cyan", "Magenta", "Yellow", "Black"),))
    assert cmyk.plates == 4
    assert (
        delivered_name(
            "12345_Buklet_Korol.pdf", "Korol", "{stem}_{plates}Plates_{inks_short}{ext}", cmyk
        )
        == "12345_Buklet_4Plates.pdf"
    )
    assert (
        delivered_name("Buklet_Korol.pdf", "Korol", "{order}_{name}_{press}_{plate_h}{ext}", cmyk)
        == "Buklet_Speedmaster_770.pdf"
    )


def test_without_template_only_the_tag_goes() -> None:
    assert delivered_name("20931_Каталог весна_Leonov.pdf", "Leonov", None, ANALYSIS) == (
        "20931_Каталог весна.pdf"
    )


def _settings(tmp_path: Path, **bureau: object):
    config = shop_config(tmp_path)
    for entry in config["bureaus"]:
        if entry["name"] == "Korol":
            entry.update(bureau)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def test_plan_uses_press_folder_template_and_press_previews(tmp_path: Path) -> None:
    settings = load_settings(
        _settings(
            tmp_path,
            file_name="{stem}_{plate_w}_{plates}Plates_{inks_short}{ext}",
            press_folders={"speedmaster": "_1030x770"},
        )
    )
    settings = settings.model_copy(
        update={
            "presses": tuple(
                p.model_copy(update={"preview_target": (tmp_path / "press" / p.name).as_uri()})
                for p in settings.presses
            )
        }
    )
    artefacts = Artefacts(dir=str(tmp_path / "prev"), preview="preview.pdf")
    source = tmp_path / "12345_Buklet_Korol.pdf"
    bureau, press = plan_deliveries(settings, source.name, source, ANALYSIS, artefacts)

    assert bureau.kind == "bureau"
    assert bureau.url == (tmp_path / "outbox" / "Korol" / "_1030x770").as_uri()
    assert bureau.remote_name == "12345_Buklet_1030_5Plates_CMY-ReflexBlueC.pdf"
    assert bureau.source == source
    assert press.kind == "press Speedmaster"
    assert press.url == (tmp_path / "press" / "Speedmaster").as_uri()
    assert press.source == tmp_path / "prev" / "preview.pdf"
    assert press.remote_name == "12345_Buklet.pdf"


def test_unknown_template_field_fails_check_config(tmp_path: Path, capsys) -> None:
    path = _settings(tmp_path, file_name="{stem}_{colour}{ext}")
    with pytest.raises(ConfigError, match=r"bureaus\.1\.file_name.*colour"):
        load_settings(path)
    assert main(["check-config", "--config", str(path)]) == 2
    assert "colour" in capsys.readouterr().err


def test_press_folder_for_unknown_press_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown presses"):
        load_settings(_settings(tmp_path, press_folders={"Heidelberg": "_x"}))


def test_a_name_tag_the_mark_overruled_is_not_delivered_either(tmp_path: Path) -> None:
    """The mark says Korol, the file name says Leonov: Korol gets it, tagged as neither."""
    settings = load_settings(_settings(tmp_path))
    source = tmp_path / "12345_Buklet_Leonov.pdf"
    artefacts = Artefacts(dir=str(tmp_path / "prev"), preview="preview.pdf")
    (bureau,) = plan_deliveries(settings, source.name, source, ANALYSIS, artefacts)
    assert bureau.url == (tmp_path / "outbox" / "Korol").as_uri()
    assert bureau.remote_name == "12345_Buklet.pdf"
