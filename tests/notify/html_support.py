"""Helpers of the HTML email tests: parse a page, failing on unbalanced tags."""

from __future__ import annotations

from html.parser import HTMLParser


class TagChecker(HTMLParser):
    """Collects tags and text; fails on unbalanced tags (void elements excepted)."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_html(html_text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(html_text)
    checker.close()
    assert checker.stack == [], f"unclosed tags: {checker.stack}"
    return checker
