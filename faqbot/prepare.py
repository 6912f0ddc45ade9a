"""What ranking derives from an index version once, the first time it answers: the keyword
index, the speller, the FAQ's sources, authority and subjects per passage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faqbot.chunking import embedding_text
from faqbot.embedding import Embedder
from faqbot.index import Snapshot
from faqbot.keyword import KeywordIndex
from faqbot.late import Idf
from faqbot.memory import release_free_memory
from faqbot.models import AUTHORITY, Passage
from faqbot.passages import PassageTable
from faqbot.scope import Subjects, initialisms, organisations_in, product_terms
from faqbot.spelling import Speller


def _faq_matches_section(passage: Passage, section: str) -> bool:
    name = passage.section
    return name == section or name.endswith(" > " + section) or name.startswith(section + " > ")


@dataclass
class Prepared:
    """Structures derived from a snapshot once, the first time it answers."""

    keyword: KeywordIndex
    speller: Speller
    faq_sources: dict[str, list[int]]  # faq id -> passage rows it cites
    authority: np.ndarray
    superseded: np.ndarray
    ids: np.ndarray  # passage ids (str), the tie-break between equal scores
    faq_matrix: np.ndarray  # the FAQ phrasing vectors (a few hundred rows), read once
    faq_of_row: np.ndarray  # per phrasing row: its entry's position in snapshot.faq, -1 if none
    out_of_scope_rows: np.ndarray  # rows that are out-of-scope examples
    token_idf: Idf | None  # IDF of word pieces over passages (late interaction), if stored
    subjects: Subjects  # the companies the documents cover
    vocabulary: frozenset[str]  # the model's whole words (lower case), if it says
    doc_of_row: np.ndarray  # per passage: its document's position in doc_orgs
    doc_orgs: list[frozenset[str]]  # per document: the companies its title or address names
    initialisms: frozenset[str]  # acronyms the passages spell out ("CSAM"), scope.initialisms
    #: product names only one company's documents use ("inmail" -> LinkedIn), scope.product_terms
    product_terms: dict[str, str] = field(default_factory=dict)


def prepare(snapshot: Snapshot, embedder: Embedder | None = None) -> Prepared:
    """Build (once per snapshot) the keyword index, the speller and the FAQ → passage map."""
    cached = snapshot.extras.get("prepared")
    if cached is not None:
        return cached
    passages = snapshot.passages
    texts: list[str] = []
    bodies: list[str] = []  # the passages' own text, without the title and headings
    by_doc: dict[str, list[int]] = {}
    authority: list[int] = []
    superseded: list[bool] = []
    ids: list[str] = []
    labels: list[str] = []
    position_of_doc: dict[str, int] = {}
    doc_of_row: list[int] = []
    for i, p in enumerate(passages):  # one pass: a loaded table builds each Passage on access
        texts.append(embedding_text(p))
        bodies.append(p.text)
        by_doc.setdefault(p.doc, []).append(i)
        authority.append(AUTHORITY.get(p.kind, 2))
        superseded.append(p.superseded_by is not None)
        ids.append(p.id)
        if p.doc not in position_of_doc:  # a document's position in doc_orgs
            position_of_doc[p.doc] = len(labels)
            labels.append(Subjects.of_labels(p.doc, p.title, p.url))
        doc_of_row.append(position_of_doc[p.doc])
    keyword = KeywordIndex(texts)
    subjects = Subjects(labels, keyword.count_containing)
    spelled_out = initialisms(texts)
    speller = Speller(texts + [text for _, text in snapshot.faq_rows],
                      getattr(embedder, "vocabulary", ()))
    doc_orgs = [frozenset(organisations_in(label)) for label in labels]
    vocabulary = frozenset(w.casefold() for w in getattr(embedder, "vocabulary", ())
                           if w.isalpha())
    # product names come from what the companies publish (news names its publishers too),
    # counted in the passages' own text: a heading is embedded with every passage under it
    products = product_terms(((body, doc_orgs[doc]) for body, doc, rank in zip(
        bodies, doc_of_row, authority, strict=True) if rank < AUTHORITY["news"]), vocabulary)
    del texts, bodies
    faq_sources: dict[str, list[int]] = {}
    for entry in snapshot.faq:
        rows: list[int] = []
        for src in entry.sources:
            rows.extend(
                i for i in by_doc.get(src.doc, ())
                if _faq_matches_section(passages[i], src.section) and i not in rows
            )
        faq_sources[entry.id] = rows
    position = {entry.id: i for i, entry in enumerate(snapshot.faq)}
    faq_of_row = np.array([position.get(faq_id, -1) if faq_id is not None else -1
                           for faq_id, _ in snapshot.faq_rows], dtype=np.int64)
    index = snapshot.faq_index
    prepared = Prepared(
        keyword=keyword,
        speller=speller,
        faq_sources=faq_sources,
        authority=np.array(authority, dtype=np.float32),
        superseded=np.array(superseded, dtype=bool),
        ids=np.array(ids, dtype=str),
        faq_matrix=(np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
                    if index.ntotal else np.zeros((0, 0), dtype=np.float32)),
        faq_of_row=faq_of_row,
        out_of_scope_rows=np.array([i for i, (faq_id, _) in enumerate(snapshot.faq_rows)
                                    if faq_id is None], dtype=np.int64),
        token_idf=snapshot.tokens.idf() if snapshot.tokens is not None else None,
        subjects=subjects,
        doc_of_row=np.array(doc_of_row, dtype=np.int64),
        doc_orgs=doc_orgs,
        initialisms=spelled_out,
        vocabulary=vocabulary,
        product_terms=products,
    )
    snapshot.extras["prepared"] = prepared
    if isinstance(passages, PassageTable):
        passages.drop_pages()  # every text was read once; the hits' pages come back alone
    release_free_memory()  # tokenising every passage left ~2 KB of freed heap per passage
    return prepared
