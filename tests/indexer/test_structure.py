from indexer.html_source import html_to_text
from indexer.inline import clean_inline
from indexer.sentences import split_sentences
from indexer.structure import parse_structure


def test_inline_markup_is_removed_but_literal_tags_stay():
    assert (
        clean_inline("3<sup>rd</sup> party, <u>spouse</u> and **bold** *Figure 15: x*")
        == "3rd party, spouse and bold Figure 15: x"
    )
    assert clean_inline("<ul> <li>One</li> <li>Two</li> </ul>") == "• One\n• Two"
    assert clean_inline("<script>alert(1)</script> and 3<sup>rd</sup>") == "<script>alert(1)</script> and 3rd"


def test_minute_headings_and_split_bold_heading():
    text, blocks = parse_structure(
        "318 Performance Monitoring\n\nSome text.\n\n**319 Alternative\nDelivery Model**\n\n- A point."
    )
    heads = [(b.number, b.title, b.depth) for b in blocks if b.kind == "heading"]
    assert heads == [("318", "318 Performance Monitoring", 1), ("319", "319 Alternative Delivery Model", 1)]
    for b in blocks:
        assert text[b.start : b.end].strip()


def test_number_only_item_form_of_web_minutes():
    text, blocks = parse_structure(
        "1839.\n\nBusiness Case Approval pdf icon PDF 168 KB\n\nMinutes:\n\nThe Cabinet considered it."
    )
    head = next(b for b in blocks if b.kind == "heading")
    assert head.number == "1839" and text[head.start : head.end] == "1839. Business Case Approval"


def test_page_break_continuation_is_rejoined():
    text, blocks = parse_structure(
        "- The money would be spent on transition and\n\ndevelopment costs, including legal."
    )
    bullets = [b for b in blocks if b.kind == "bullet"]
    assert len(bullets) == 1
    assert (
        text[bullets[0].start : bullets[0].end]
        == "• The money would be spent on transition and development costs, including legal."
    )


def test_table_cells_keep_exact_spans_and_blank_cells():
    src = "\tCRITERIA\tA option\tB option\tHighest\n>\tTimescales\t100\t\t100\n"
    text, blocks = parse_structure(src)
    table = next(b for b in blocks if b.kind == "table")
    assert table.header_row == 0
    row = table.rows[1]
    assert [c.text for c in row] == [">", "Timescales", "100", "", "100"]
    for cell in row:
        assert text[cell.start : cell.end] == cell.text


def test_sentences_survive_abbreviations_and_amounts():
    text = "Mr S M Mackay said it cost c.£7.5m, e.g. legal. The £4.6 million was agreed at 12.53 pm. Next."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == [
        "Mr S M Mackay said it cost c.£7.5m, e.g. legal.",
        "The £4.6 million was agreed at 12.53 pm.",
        "Next.",
    ]


def test_html_source_uses_a_parser_and_drops_scripts():
    out = html_to_text(
        "<html><head><script>var x=1;</script></head><body><h2>Item 5</h2><p>Text &amp; more.</p>"
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td><ul><li>x</li><li>y</li></ul></td></tr></table></body></html>"
    )
    assert "var x" not in out
    assert "## Item 5" in out and "Text & more." in out
    assert "1\tx • y" in out
