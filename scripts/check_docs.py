#!/usr/bin/env python3
"""What the toolchain does not do for the documentation (standard library only).

  snippet-graph SNIPPETS_DIR OUT_DIR   the symbol graph of the snippets, for `docc convert` (what the
                                       swift-docc-plugin's snippet-extract writes): @Snippet resolves to it
  readme README.md SNIPPET.swift       README.md's ```swift blocks (but package manifest fragments, which
                                       start with `.`) are the snippet's slices, verbatim and in order
  shown SOURCE.swift ARTICLE.md        ARTICLE.md shows SOURCE.swift whole, as one fenced block
"""
import json, os, re, sys

MARKER = re.compile(r"^\s*//\s*snippet\.(\S+)", re.I)


def parse(path):
    """(explanation, lines, slices in order) as the swift-docc-plugin's SnippetParser reads a snippet."""
    source = open(path, encoding="utf-8").read().split("\n")
    while source and not source[0].strip():
        source.pop(0)
    explanation = []
    while source and source[0].strip().startswith("//") and not MARKER.match(source[0]):
        explanation.append(source.pop(0).strip()[2:].strip())
    lines, slices, visible, current = [], {}, True, None

    def end():
        if current and current[1] < len(lines):
            start, stop = current[1], len(lines)
            while start < stop and not lines[start].strip(): start += 1
            while stop > start and not lines[stop - 1].strip(): stop -= 1
            slices[current[0]] = [start, stop]

    for line in source:
        marker = MARKER.match(line)
        word = marker.group(1) if marker else None
        if word and word.lower() in ("show", "hide"):
            visible = word.lower() == "show"
        elif word and word.lower() == "end":
            end(); current = None
        elif word:
            if visible:
                end(); current = (word, len(lines))
        elif visible and (lines or line.strip()):
            lines.append(line)
    end()
    while lines and not lines[-1].strip():
        lines.pop()
    return explanation, lines, slices


def snippet_graph(snippets_dir, out_dir):
    symbols = []
    for root, _, names in sorted(os.walk(snippets_dir)):
        for name in sorted(n for n in names if n.endswith(".swift")):
            explanation, lines, slices = parse(os.path.join(root, name))
            base = name[:-6]
            relative = os.path.relpath(os.path.join(root, base), snippets_dir).split(os.sep)
            symbols.append({
                "identifier": {"precise": f"$snippet__swift-breaker.{base}", "interfaceLanguage": "swift"},
                "names": {"title": base}, "pathComponents": ["Snippets"] + relative,
                "docComment": {"lines": [{"text": text} for text in explanation]},
                "accessLevel": "public", "kind": {"identifier": "snippet", "displayName": "Snippet"},
                "snippet": {"language": "swift", "lines": lines, "slices": slices}, "isVirtual": True,
            })
    graph = {
        "metadata": {"formatVersion": {"major": 0, "minor": 1, "patch": 0}, "generator": "snippet-extract"},
        "module": {"name": "swift-breaker", "platform": {}, "isVirtual": True},
        "symbols": symbols, "relationships": [],
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "swift-breaker-snippets.symbols.json"), "w", encoding="utf-8") as handle:
        json.dump(graph, handle)
    return 0


def readme(markdown, snippet):
    text = open(markdown, encoding="utf-8").read()
    blocks = [b.strip("\n") for b in re.findall(r"^```swift\n(.*?)^```", text, flags=re.S | re.M)]
    blocks = [b for b in blocks if not b.startswith(".")]
    _, lines, slices = parse(snippet)
    wanted = ["\n".join(lines[start:stop]) for start, stop in slices.values()]
    for index, (shown, slice_id) in enumerate(zip(blocks + [None] * len(wanted), list(slices) + [None] * len(blocks))):
        expected = wanted[index] if slice_id else None
        if shown != expected:
            print(f"{markdown}: swift block {index + 1} is not slice `{slice_id}` of {snippet}; copy the slice into the block")
            print(f"--- {markdown}:\n{shown}\n--- {snippet}, slice {slice_id}:\n{expected}")
            return 1
    print(f"{markdown}: its {len(blocks)} swift blocks are the slices of {snippet}")
    return 0


def shown(source, markdown):
    wanted = open(source, encoding="utf-8").read().strip("\n")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", open(markdown, encoding="utf-8").read(), flags=re.S | re.M)
    if any(block.strip("\n") == wanted for block in blocks):
        print(f"{markdown} shows {source} as it is")
        return 0
    print(f"{markdown} does not show {source} as it is: copy the file into the article's block")
    return 1


if __name__ == "__main__":
    commands = {"snippet-graph": snippet_graph, "readme": readme, "shown": shown}
    if len(sys.argv) != 4 or sys.argv[1] not in commands:
        sys.exit(print(__doc__, file=sys.stderr) or 2)
    sys.exit(commands[sys.argv[1]](sys.argv[2], sys.argv[3]))
