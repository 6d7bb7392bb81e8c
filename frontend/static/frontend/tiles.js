// The parts of a candidate's tile that the candidate browser (testset-class.js) and the final review
// (final-review.js) draw alike: its picture, frequency, dates, source, file name and blacklist line.

export function text(tag, className, content) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = content;
  return element;
}

export function frequencyText(image) {
  return image.frequency === null ? "no frequency" : image.frequency.toFixed(2);
}

/** A candidate's tile in a grid moved through by keyboard: at `index`, out of the tab order until focused. */
export function tileItem(className, index, candidateId, testid) {
  const item = document.createElement("li");
  item.className = className;
  item.tabIndex = -1;
  item.dataset.index = String(index);
  item.dataset.candidate = String(candidateId);
  item.dataset.testid = testid;
  return item;
}

/** The image at its display size in a frame of `className`, or a line saying its file is not there yet. */
export function picture(image, className = "ts-thumb") {
  const frame = document.createElement("div");
  frame.className = className;
  if (image.display_url) {
    const img = document.createElement("img");
    img.src = image.display_url;
    img.alt = image.file_name;
    img.loading = "lazy";
    img.decoding = "async";
    frame.append(img);
  } else {
    frame.append(text("span", "muted small", "No file yet"));
  }
  return frame;
}

/** A tile's lines under its head: when the image was taken (and uploaded), its source id, its file name, and the
 * empty line that paints its blacklist reason. */
export function tileFoot(image) {
  const meta = document.createElement("div");
  meta.className = "ts-tile__meta muted small";
  meta.append(text("span", "", image.date_taken ? `taken ${image.date_taken.slice(0, 10)}` : "date taken unknown"));
  if (image.date_uploaded) meta.append(text("span", "", `uploaded ${image.date_uploaded.slice(0, 10)}`));
  if (image.source_id) meta.append(text("span", "ts-tile__source", image.source_id));
  const name = text("div", "ts-tile__name small", image.file_name);
  name.title = image.file_name;
  return [meta, name, text("div", "ts-tile__reason small", "")];
}
