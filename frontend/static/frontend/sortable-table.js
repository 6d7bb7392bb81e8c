// Tables sortable by clicking their headers: <table data-sortable> whose <th data-sort="text|number"> become
// buttons. A cell sorts by its data-value (else its text); empty values always go last.

/** The sort key of a cell: its data-value, a number for numeric columns; null (always last) when empty. */
function sortKey(cell, numeric) {
  const value = cell.dataset.value ?? cell.textContent.trim();
  if (value === "") return null;
  return numeric ? Number(value) : value.toLowerCase();
}

export function makeSortable(table) {
  const body = table.tBodies[0];
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((header, column) => {
    if (!header.dataset.sort) return;
    const numeric = header.dataset.sort === "number";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort-toggle";
    button.textContent = header.textContent.trim();
    header.replaceChildren(button);
    button.addEventListener("click", () => {
      // First click: figures highest first, names from A.
      const current = header.getAttribute("aria-sort");
      const descending = current ? current === "ascending" : numeric;
      const rows = [...body.rows].map((row, index) => ({ row, index, key: sortKey(row.cells[column], numeric) }));
      rows.sort((a, b) => {
        if (a.key === null || b.key === null) return (a.key === null) - (b.key === null) || a.index - b.index;
        const order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
        return (descending ? -order : order) || a.index - b.index;
      });
      body.append(...rows.map((entry) => entry.row));
      for (const other of headers) other.removeAttribute("aria-sort");
      header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    });
  });
}
