// Pieces shared by the screens where one person picks one class per image: training and evaluation.

export function renderChosenClass(els, synset) {
  els.chosen.dataset.empty = String(!synset);
  els.chosen.dataset.wnid = synset ? synset.wnid : "";
  els.chosenLabel.textContent = synset ? synset.words.join(", ") : "No class chosen yet";
  els.chosenWnid.textContent = synset ? synset.wnid : "";
  els.chosenGloss.textContent = synset ? synset.gloss : "Pick the most specific class in the hierarchy or by search.";
}

// An error banner with an optional retry action.
export function bannerFor(element) {
  const banner = {
    show(message, retry) {
      element.hidden = false;
      element.dataset.mode = "error";
      element.querySelector(".banner__text").textContent = message;
      const action = element.querySelector(".banner__action");
      action.hidden = !retry;
      action.onclick = () => {
        banner.hide();
        retry();
      };
    },
    hide() {
      element.hidden = true;
    },
  };
  return banner;
}

// Keys are shortcuts unless the person is typing into a field.
export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(target.type);
}
