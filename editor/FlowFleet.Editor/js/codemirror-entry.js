// CodeMirror 6 for FlowFleet's property editor: JavaScript (function nodes) or plain text/Mustache (template nodes).
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from "@codemirror/language";
import { javascript } from "@codemirror/lang-javascript";

const editors = new WeakMap();

export function create(element, text, language) {
  const extensions = [
    lineNumbers(), history(), highlightActiveLine(), bracketMatching(), indentOnInput(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
    EditorView.lineWrapping,
  ];
  if (language === "javascript") {
    extensions.push(javascript());
  }
  const view = new EditorView({ state: EditorState.create({ doc: text ?? "", extensions }), parent: element });
  editors.set(element, view);
  return true;
}

export function getValue(element) {
  const view = editors.get(element);
  return view ? view.state.doc.toString() : null;
}

export function dispose(element) {
  const view = editors.get(element);
  if (view) {
    view.destroy();
    editors.delete(element);
  }
}
