import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    rules: {
      // Values from the lake are rendered as text; nothing may write HTML.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "render lake values as text" },
        { property: "outerHTML", message: "render lake values as text" },
        { property: "insertAdjacentHTML", message: "render lake values as text" },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: "render lake values as text" },
      ],
    },
  },
);
