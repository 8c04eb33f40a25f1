// The SQL editor: CodeMirror 6 with SQL highlighting; Ctrl-Enter (⌘-Enter) runs the query.
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers } from "@codemirror/view";
import { useEffect, useRef } from "preact/hooks";

/** A query the editor should show, replacing what is there; `seq` changes with each replacement. */
export interface Replacement {
  text: string;
  seq: number;
}

interface Props {
  /** What to show: set by the page (a new attempt, a deep link), never echoed back from typing. */
  replace: Replacement;
  onChange: (sql: string) => void;
  onRun: () => void;
}

/** The page's style nonce (see index.html): CodeMirror's style sheet must carry it under the CSP. */
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? "";

// The document is not a controlled value: echoing each keystroke back through the component's state
// races with newer keystrokes (a render for "" arriving after "S" was typed undoes it, forever). The page
// replaces the text only when it means to, by a new `replace.seq`.
export function SqlEditor({ replace, onChange, onRun }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The latest callbacks, read by the editor's handlers (created once).
  const cb = useRef({ onChange, onRun });
  cb.current = { onChange, onRun };

  useEffect(() => {
    const run = () => {
      cb.current.onRun();
      return true;
    };
    view.current = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: replace.text,
        extensions: [
          EditorView.cspNonce.of(nonce),
          lineNumbers(),
          history(),
          keymap.of([{ key: "Mod-Enter", run }, ...defaultKeymap, ...historyKeymap]),
          sql({ dialect: StandardSQL, upperCaseKeywords: true }),
          syntaxHighlighting(defaultHighlightStyle),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": "SQL query" }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
    // The editor is created once; later value changes arrive through the effect below.
  }, []);

  const shown = useRef(replace.seq);
  useEffect(() => {
    const v = view.current;
    if (v && replace.seq !== shown.current) {
      shown.current = replace.seq;
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: replace.text } });
    }
  }, [replace.seq]);

  return <div class="sql-editor" ref={host} data-testid="sql-editor" />;
}
