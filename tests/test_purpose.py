"""What a document says it implements (watcher/link/purpose.py): purpose sentence, own title,
and what is never a parent."""

from watcher.link.purpose import purpose_sentence, read


def keys(reading, title_first=False):
    return reading.parent_keys(title_first)


def test_a_short_law_name_resolves_in_any_quoting():
    for quoted in ("《中华人民共和国水法》", "〈水法〉", "《水法》"):
        r = read("某市节约用水办法", f"第一条 为了节约用水，贯彻实施{quoted}，结合本市实际，制定本办法。")
        assert keys(r) == ["水法"]


def test_implementing_both_a_law_and_its_regulation():
    text = "第一条 为了实施《中华人民共和国道路交通安全法》和《中华人民共和国道路交通安全法实施条例》，结合本市实际情况，制定本办法。"
    r = read("北京市实施《中华人民共和国道路交通安全法》办法", text)
    assert keys(r) == ["道路交通安全法", "道路交通安全法实施条例"]
    assert keys(r, title_first=True) == ["道路交通安全法"]


def test_the_title_names_what_it_implements_and_a_basis_stays_a_citation():
    text = (
        "第一条 为了保护归侨、侨眷的合法权益，根据《中华人民共和国归侨侨眷权益保护法》、"
        "《中华人民共和国归侨侨眷权益保护法实施办法》，结合本市实际，制定本办法。"
    )
    r = read("上海市实施《中华人民共和国归侨侨眷权益保护法》办法", text)
    assert keys(r) == ["归侨侨眷权益保护法"]
    assert r.basis_keys() == ["归侨侨眷权益保护法实施办法"]  # a `cites` link, not derived


def test_a_notice_implements_what_its_purpose_sentence_cites_with_its_docno():
    text = (
        "各县区人民政府：\n《淮安市绿色发展实施方案》已经市政府常务会议审议通过，现印发给你们，请认真贯彻执行。\n"
        "淮安市人民政府\n2022年11月17日\n（此件公开发布）\n淮安市绿色发展实施方案\n"
        "为贯彻落实《国务院关于加快建立健全绿色低碳循环发展经济体系的指导意见》（国发〔2021〕4号），"
        "加快我市绿色发展，现结合我市实际，特制定本实施方案。\n一、总体要求"
    )
    r = read(None, text)
    assert [(c.key, c.docno, c.verb) for c in r.implements] == [
        ("国务院关于加快建立健全绿色低碳循环发展经济体系指导意见", "国发〔2021〕4号", "落实")
    ]
    assert "淮安市绿色发展实施方案" in r.own  # its own attachment is never its parent


def test_a_covering_sentence_and_an_instruction_are_not_the_purpose_sentence():
    text = (
        "现将《关于加快绿色发展的若干措施》印发给你们，请结合实际认真贯彻执行。\n"
        "各地要按照《方案》要求，结合实际制定实施方案。\n"
        "为贯彻落实党中央决策部署，现提出以下措施。"
    )
    r = read("江西省人民政府印发关于加快绿色发展的若干措施的通知", text)
    assert r.sentence.startswith("为贯彻落实党中央决策部署")
    assert r.implements == []
    assert "关于加快绿色发展若干措施" in r.own


def test_implementing_verbs_versus_legal_basis():
    r = read(
        "北京市各级人民代表大会常务委员会规范性文件备案审查条例",
        "第一条 为了加强备案审查工作，根据《中华人民共和国立法法》《中华人民共和国各级人民代表大会常务委员会监督法》，"
        "结合本市实际，制定本条例。",
    )
    assert keys(r) == []  # laws cited under 根据 are its legal basis
    assert r.basis_keys() == ["立法法", "各级人民代表大会常务委员会监督法"]
    r = read("某市落实方案", "为贯彻落实《国务院关于X的意见》，根据《某省关于X的通知》要求，结合我市实际，制定本方案。")
    assert keys(r) == ["国务院关于X意见", "某省关于X通知"]  # policy documents under 根据 are implemented


def test_never_cites_itself_its_amendment_decision_or_a_short_form():
    text = (
        "北京市审计条例\n2012年7月27日 北京市第十三届人民代表大会常务委员会第三十四次会议通过\n"
        "2017年9月22日 北京市第十四届人民代表大会常务委员会第四十一次会议《关于修改〈北京市审计条例〉的决定》修正\n"
        "第一条 为了实施《中华人民共和国审计法》（以下简称《审计法》）和《北京市审计条例》，"
        "结合本市实际，制定本条例。"
    )
    r = read("北京市审计条例", text)
    assert keys(r) == ["审计法"]
    assert "关于修改北京市审计条例决定" in r.own and "北京市审计条例" in r.own


def test_a_national_law_made_under_the_constitution_and_unquoted_names():
    r = read("中华人民共和国国防教育法", "第一条 为了普及和加强国防教育，根据国防法和教育法，制定本法。")
    bare = [c.key for c in r.implements if c.kind == "bare"]
    assert "国防法" in bare and "教育法" in bare  # resolved only if stored (kind "bare")
    r = read(None, "第一条 为了发展矿业，根据中华人民共和国宪法，特制定本法。")
    assert [c.key for c in r.implements] == ["宪法"]


def test_the_opening_ends_at_the_second_article():
    text = "第一条 为了发展慈善事业，制定本法。\n第二条 根据《某条例》的规定，制定本法实施细则。"
    r = read("中华人民共和国慈善法", text)
    assert r.sentence is None and r.implements == []
    assert purpose_sentence("第二条 根据《X条例》，制定本办法。") is None


def test_a_forwarding_notice_forwards():
    r = read(
        "某市人民政府办公室关于转发《省政府关于推进X的意见》的通知",
        "各区县：现将《省政府关于推进X的意见》转发给你们，请结合实际认真贯彻落实。",
    )
    assert r.forwards == ["省政府关于推进X意见"]
    assert keys(r) == []


def test_never_cites_its_own_docno():
    text = "为贯彻落实《某省关于X的意见》（苏政发〔2020〕28号）和汕府〔2023〕30号文件精神，结合我市实际，制定本方案。"
    r = read("汕头市X实施方案", text, doc_no="汕府〔2023〕30号")
    assert [c.key for c in r.implements] == ["某省关于X意见"]
    assert r.implements[0].docno == "苏政发〔2020〕28号"
    assert [c.key for c in read("汕头市X实施方案", text).implements] == ["某省关于X意见", "汕府〔2023〕30号"]


def test_attachments_listed_under_the_notice_are_its_own():
    text = (
        "各区人民政府：\n为贯彻落实《国务院关于X的意见》，结合我市实际，制定本通知。\n"
        "附件：1.某市X实施细则\n2.某市X申报指南\n\n1. 加强组织领导。"
    )
    r = read("某市关于做好X工作的通知", text)
    assert {"某市X实施细则", "某市X申报指南"} <= r.own
    assert "加强组织领导。" not in r.own and keys(r) == ["国务院关于X意见"]


def test_a_regulation_on_the_cited_laws_own_subject_implements_it():
    text = "第一条 为了规范突发事件应对活动，根据《中华人民共和国突发事件应对法》等法律、行政法规，结合本省实际，制定本条例。"
    assert keys(read("山东省突发事件应对条例", text)) == ["突发事件应对法"]
    other = read("山东省安全生产条例", text)
    assert keys(other) == [] and other.basis_keys() == ["突发事件应对法"]  # another subject: legal basis


def test_a_model_named_after_canzhao_or_a_government_rule_under_genju_is_implemented():
    r = read(
        "某市人民政府工作规则",
        "一、根据《中华人民共和国宪法》，参照《某省人民政府工作规则》，结合本市实际，制定本规则。",
    )
    assert keys(r) == ["某省人民政府工作规则"] and r.basis_keys() == ["宪法"]
    r = read(
        "某县人民政府工作规则", "一、根据《中华人民共和国宪法》《某市人民政府工作规则》，结合本县实际，制定本规则。"
    )
    assert keys(r) == ["某市人民政府工作规则"] and r.basis_keys() == ["宪法"]
    # 参照 a rule of another kind than the document's own: cited, not its model
    r = read(
        "某市备案审查条例", "第一条 根据《中华人民共和国立法法》，参照《备案审查工作办法》，结合本市实际，制定本条例。"
    )
    assert keys(r) == [] and r.basis_keys() == ["立法法", "备案审查工作办法"]


def test_carrying_out_the_spirit_of_a_cited_text_is_a_purpose_without_a_closing_formula():
    text = (
        "各区人民政府：\n今年工作的总体要求是：深入贯彻《关于全面推进政务公开工作的意见》（中办发〔2016〕8号，"
        "以下简称《意见》）精神，认真落实有关要求，以完善公开内容为核心。\n二、主要任务"
    )
    r = read("某市2016年政务公开工作要点", text)
    assert keys(r) == ["关于全面推进政务公开工作意见"]
    assert r.implements[0].docno == "中办发〔2016〕8号"  # paired despite 以下简称 inside the brackets
    assert keys(read("某市工作要点", "总体要求是：深入贯彻党的十九大精神，推进各项工作。\n二、主要任务")) == []


def test_no_governing_verb_inside_a_quoted_title_and_a_garbled_docno_bracket():
    text = "第一条 根据《中华人民共和国宪法》、《全面推进依法行政实施纲要》、《国务院工作规则》，制定本规则。"
    verbs = {c.key: c.verb for c in read("某市人民政府工作规则", text).implements}
    assert verbs["国务院工作规则"] == "根据"  # not 实施 from inside 《…实施纲要》
    text = "根据《国务院办公厅关于加强就业工作的通知》(国办发„2009‟3号)精神，结合我省实际，现通知如下："
    assert read("某省关于加强就业工作的通知", text).implements[0].docno == "国办发〔2009〕3号"
