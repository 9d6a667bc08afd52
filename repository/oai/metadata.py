"""The two metadata formats: Dublin Core (oai_dc) and IEEE LOM (lom), with the educational
fields (grade and school level, subject, material type, licence). Both describe only what the
public material page shows; no personal data (the author's school stands for the creator)."""
from __future__ import annotations

from typing import Callable
from lxml.etree import _Element as Element
from lxml.etree import SubElement

from flask import current_app, url_for

from repository import curriculum
from repository.models import Material

XSI = "http://www.w3.org/2001/XMLSchema-instance"
DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
LOM = "http://ltsc.ieee.org/xsd/LOM"

# prefix -> (schema, namespace)
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "lom": ("http://ltsc.ieee.org/xsd/lomv1.0/lom.xsd", LOM),
}


def _page_url(material: Material) -> str:
    return url_for("materials.show", material_id=material.id, _external=True)


def _grade_names(material: Material) -> list[tuple[str, str]]:
    names = {g.code: g.name for g in curriculum.grades()}
    return [(code, names.get(code, code)) for code in material.grades or []]


def _subject_name(code: str) -> str:
    found = curriculum.subject(code)
    return found.name if found else curriculum.preschool_domains().get(code, code)


def _licence(material: Material) -> tuple[str, str]:
    """(name, url or '') of the material's licence."""
    found = next((lic for lic in curriculum.licences() if lic.code == material.licence), None)
    return (found.name, found.url or "") if found else (material.licence, "")


def oai_dc(parent: Element, material: Material) -> None:
    root = SubElement(parent, f"{{{OAI_DC}}}dc", {f"{{{XSI}}}schemaLocation": f"{OAI_DC} {FORMATS['oai_dc'][0]}"},
                      nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})

    def add(name: str, text: str) -> None:
        if text:
            SubElement(root, f"{{{DC}}}{name}").text = text

    add("title", material.title)
    add("creator", material.school.name)
    add("subject", _subject_name(material.subject))
    for _code, name in _grade_names(material):
        add("subject", name)
    add("subject", material.topic or "")
    add("description", material.description)
    add("publisher", current_app.config["DEPARTMENT_NAME"])
    add("date", material.created_at.strftime("%Y-%m-%d"))
    add("type", curriculum.material_types().get(material.material_type, material.material_type))
    for mime in sorted({f.mime_type for f in material.current_files}):
        add("format", mime)
    add("identifier", _page_url(material))
    add("language", material.language)
    name, url = _licence(material)
    add("rights", f"{name} {url}".strip())


def _langstring(parent: Element, tag: str, text: str, language: str = "vi") -> Element:
    holder = SubElement(parent, f"{{{LOM}}}{tag}")
    SubElement(holder, f"{{{LOM}}}string", {"language": language}).text = text
    return holder


def _vocab(parent: Element, tag: str, source: str, value: str) -> None:
    holder = SubElement(parent, f"{{{LOM}}}{tag}")
    SubElement(holder, f"{{{LOM}}}source").text = source
    SubElement(holder, f"{{{LOM}}}value").text = value


def _classification(root: Element, purpose: str, source: str, taxa: list[tuple[str, str]]) -> None:
    block = SubElement(root, f"{{{LOM}}}classification")
    _vocab(block, "purpose", "LOMv1.0", purpose)
    path = SubElement(block, f"{{{LOM}}}taxonPath")
    _langstring(path, "source", source)
    for code, name in taxa:
        taxon = SubElement(path, f"{{{LOM}}}taxon")
        SubElement(taxon, f"{{{LOM}}}id").text = code
        _langstring(taxon, "entry", name)


def _general(root: Element, material: Material) -> None:
    general = SubElement(root, f"{{{LOM}}}general")
    identifier = SubElement(general, f"{{{LOM}}}identifier")
    SubElement(identifier, f"{{{LOM}}}catalog").text = "URI"
    SubElement(identifier, f"{{{LOM}}}entry").text = _page_url(material)
    _langstring(general, "title", material.title, material.language)
    SubElement(general, f"{{{LOM}}}language").text = material.language
    if material.description:
        _langstring(general, "description", material.description, material.language)
    if material.topic:
        _langstring(general, "keyword", material.topic, material.language)


def _technical(root: Element, material: Material) -> None:
    technical = SubElement(root, f"{{{LOM}}}technical")
    for mime in sorted({f.mime_type for f in material.current_files}):
        SubElement(technical, f"{{{LOM}}}format").text = mime
    SubElement(technical, f"{{{LOM}}}size").text = str(sum(f.size for f in material.current_files))
    SubElement(technical, f"{{{LOM}}}location").text = _page_url(material)


def _educational(root: Element, material: Material) -> None:
    educational = SubElement(root, f"{{{LOM}}}educational")
    # The repository's own vocabulary (data/material_types.yaml), named as the source.
    _vocab(educational, "learningResourceType", "kho-hoc-lieu:material_types", material.material_type)
    _vocab(educational, "context", "LOMv1.0", "school")
    grades = ", ".join(name for _code, name in _grade_names(material))
    if grades:
        _langstring(educational, "description", grades)


def _rights(root: Element, material: Material) -> None:
    name, url = _licence(material)
    rights = SubElement(root, f"{{{LOM}}}rights")
    _vocab(rights, "cost", "LOMv1.0", "no")
    _vocab(rights, "copyrightAndOtherRestrictions", "LOMv1.0", "yes")
    _langstring(rights, "description", f"{material.licence}: {name} {url}".strip())


def lom(parent: Element, material: Material) -> None:
    root = SubElement(parent, f"{{{LOM}}}lom", {f"{{{XSI}}}schemaLocation": f"{LOM} {FORMATS['lom'][0]}"},
                      nsmap={None: LOM, "xsi": XSI})
    _general(root, material)
    _technical(root, material)
    _educational(root, material)
    _rights(root, material)
    _classification(root, "discipline", "GDPT 2018: môn học", [(material.subject, _subject_name(material.subject))])
    levels = {g.code: g.level for g in curriculum.grades()}
    level_names = {lv.code: lv.name for lv in curriculum.levels()}
    for code, name in _grade_names(material):
        level = levels.get(code, "")
        _classification(root, "educational level", "GDPT 2018: cấp học, lớp",
                        [(level, level_names.get(level, level)), (code, name)])


WRITERS: dict[str, Callable[[Element, Material], None]] = {"oai_dc": oai_dc, "lom": lom}
