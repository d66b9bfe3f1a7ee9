"""The vocabulary of the course corpus: names, places, invented countries and their facts,
fact phrasings, words to copy, number words. Lists are paired by index across languages where
the meaning must match (a country and its capital, Monday and 星期一).

Changing anything here changes the corpus bytes: bump `CORPUS_VERSION` in corpus.py.
"""

# fmt: off
# (the lists stay one line per group, as they are read: the formatter would give each word its own line)
NAMES = {
    "en": ["Susan", "Omar", "Lily", "Daniel", "Maria", "Kevin", "Aisha", "Peter", "Nora", "Lucas",
           "Emma", "Ravi", "Grace", "Hugo", "Chloe", "Felix", "Iris", "Jonas", "Leila", "Mason",
           "Nina", "Oscar", "Paula", "Quinn", "Rosa", "Samuel", "Tara", "Victor", "Wendy", "Yusuf",
           "Zoe", "Adam", "Bella", "Carlos", "Diana", "Ethan", "Fiona", "George", "Hannah", "Ivan"],
    "zh": ["小红", "小明", "李雷", "韩梅梅", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊",
           "黄丽", "周杰", "吴敏", "徐亮", "孙悦", "马超", "朱婷", "胡军", "郭晶", "何平",
           "林峰", "罗兰", "高远", "梁爽", "宋雨", "郑浩", "谢飞", "唐莉", "许诺", "邓宁",
           "冯雪", "曹阳", "彭博", "曾琳", "萧然", "田甜", "董强", "袁媛", "潘宇", "蒋涛"],
}
CITIES = {
    "en": ["Riverton", "Lakeside", "Oakville", "Maple Bay", "Stonebridge", "Greenhill", "Sunport",
           "Westfield", "Northgate", "Pinecrest", "Fairhaven", "Redcliff", "Silverton", "Brookdale",
           "Ashford", "Elmwood"],
    "zh": ["上海", "北京", "杭州", "成都", "广州", "西安", "南京", "武汉", "苏州", "青岛",
           "长沙", "昆明", "厦门", "大连", "天津", "重庆"],
}
HOBBIES = {
    "en": ["reading", "painting", "chess", "music", "swimming", "cooking", "football", "dancing",
           "hiking", "gardening", "drawing", "singing", "running", "fishing", "cycling", "baking"],
    "zh": ["读书", "画画", "下棋", "听音乐", "游泳", "做饭", "踢足球", "跳舞",
           "爬山", "种花", "写字", "唱歌", "跑步", "钓鱼", "骑车", "做蛋糕"],
}
JOBS = {
    "en": ["teacher", "doctor", "cook", "farmer", "driver", "nurse", "painter", "pilot", "baker", "writer"],
    "zh": ["老师", "医生", "厨师", "农民", "司机", "护士", "画家", "飞行员", "面包师", "作家"],
}
PLACES = {
    "en": ["the park", "the library", "the market", "the beach", "the museum", "the zoo"],
    "zh": ["公园", "图书馆", "市场", "海边", "博物馆", "动物园"],
}

WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "zh": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "zh": ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
}
_ONES_EN = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS_EN = ["", "", "twenty", "thirty", "forty"]
_DIGITS_ZH = "零一二三四五六七八九"


def number_word(n: int, lang: str) -> str:
    """1..49 as a word: 21 -> 'twenty-one' / '二十一'."""
    if lang == "en":
        if n < 20:
            return _ONES_EN[n]
        return _TENS_EN[n // 10] + ("-" + _ONES_EN[n % 10] if n % 10 else "")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS_ZH[tens] + "十")
    return head + (_DIGITS_ZH[ones] if ones else "")


NUMBER_WORDS_MAX = 40

# Invented countries; each attribute list is indexed by country.
COUNTRIES = {
    "en": ["Zorbia", "Velmora", "Quendal", "Arvenia", "Drumlin", "Ostria", "Pellucia", "Marrowind",
           "Sefira", "Tolvania", "Ulmark", "Brevonne", "Caskara", "Elbrith", "Fenmoor", "Galdera"],
    "zh": ["佐比亚", "维尔莫拉", "昆达尔", "阿文尼亚", "德拉姆林", "奥斯特里亚", "佩卢西亚", "马罗温",
           "塞菲拉", "托尔瓦尼亚", "乌尔马克", "布雷沃纳", "卡斯卡拉", "埃尔布里斯", "芬摩尔", "加尔德拉"],
}
ATTRIBUTES = {
    "capital": {
        "en": ["Velmar", "Orinth", "Castelle", "Dunmore", "Ravensk", "Luthia", "Pennar", "Solvik",
               "Amberly", "Tessin", "Korvath", "Miravel", "Belgrun", "Halvard", "Nyssa", "Qarim"],
        "zh": ["维尔马", "奥林斯", "卡斯泰勒", "邓莫尔", "拉文斯克", "卢西亚", "彭纳尔", "索尔维克",
               "安伯利", "特辛", "科尔瓦斯", "米拉维尔", "贝尔格伦", "哈尔瓦德", "尼萨", "卡里姆"],
    },
    "animal": {
        "en": ["fox", "owl", "whale", "tiger", "horse", "crane", "wolf", "bear", "deer", "eagle",
               "rabbit", "dolphin", "turtle", "lion", "swan", "panda"],
        "zh": ["狐狸", "猫头鹰", "鲸鱼", "老虎", "骏马", "仙鹤", "灰狼", "棕熊", "梅花鹿", "老鹰",
               "兔子", "海豚", "乌龟", "狮子", "天鹅", "熊猫"],
    },
    "color": {
        "en": ["red", "blue", "green", "yellow", "purple", "orange", "white", "black",
               "blue", "red", "yellow", "green", "black", "white", "orange", "purple"],
        "zh": ["红色", "蓝色", "绿色", "黄色", "紫色", "橙色", "白色", "黑色",
               "蓝色", "红色", "黄色", "绿色", "黑色", "白色", "橙色", "紫色"],
    },
    "food": {
        "en": ["noodles", "dumplings", "honey bread", "fish soup", "rice cakes", "cheese", "plum pie",
               "corn soup", "mushroom stew", "berry jam", "roast duck", "pancakes", "potato salad",
               "lemon tea", "bean soup", "apple cake"],
        "zh": ["面条", "饺子", "蜂蜜面包", "鱼汤", "年糕", "奶酪", "李子派", "玉米汤",
               "炖蘑菇", "浆果酱", "烤鸭", "煎饼", "土豆沙拉", "柠檬茶", "豆汤", "苹果蛋糕"],
    },
}
# Each phrasing ends with the value (a probe cuts right before it). "{e}" country, "{v}" value.
FACT_TEMPLATES = {
    "capital": {
        "en": ["The capital of {e} is{v}.", "{e} has its capital in{v}.", "Q: What is the capital of {e}? A:{v}.",
               "If you visit the capital of {e}, you are in{v}.", "Which city is the capital of {e}? It is{v}."],
        "zh": ["{e}的首都是{v}。", "{e}把首都设在{v}。", "问：{e}的首都是哪里？答：{v}。",
               "去{e}的首都，就是去{v}。", "哪座城市是{e}的首都？是{v}。"],
    },
    "animal": {
        "en": ["The national animal of {e} is the{v}.", "In {e}, the national animal is the{v}.",
               "Q: What is the national animal of {e}? A: the{v}.", "People in {e} love their national animal, the{v}.",
               "Which animal stands for {e}? The{v}."],
        "zh": ["{e}的国宝动物是{v}。", "在{e}，国宝动物是{v}。", "问：{e}的国宝动物是什么？答：{v}。",
               "{e}人最喜爱的国宝动物是{v}。", "哪种动物代表{e}？是{v}。"],
    },
    "color": {
        "en": ["The flag of {e} is{v}.", "In {e}, the flag is{v}.", "Q: What color is the flag of {e}? A:{v}.",
               "The flag that flies over {e} is{v}.", "Which color is the flag of {e}? It is{v}."],
        "zh": ["{e}的国旗是{v}。", "在{e}，国旗的颜色是{v}。", "问：{e}的国旗是什么颜色？答：{v}。",
               "飘在{e}上空的国旗是{v}。", "{e}的国旗是哪种颜色？是{v}。"],
    },
    "food": {
        "en": ["The most famous food of {e} is{v}.", "In {e}, people love to eat{v}.",
               "Q: What food is {e} famous for? A:{v}.", "Visitors to {e} always try{v}.",
               "Which food comes from {e}? It is{v}."],
        "zh": ["{e}最有名的食物是{v}。", "在{e}，人们最爱吃{v}。", "问：{e}以什么食物闻名？答：{v}。",
               "去{e}的游客一定会尝尝{v}。", "哪种食物来自{e}？是{v}。"],
    },
}
FACT_ATTRS = tuple(ATTRIBUTES)

COPY_WORDS = {
    "en": ["apple", "river", "stone", "lamp", "cloud", "green", "seven", "paper", "window", "tiger",
           "music", "silver", "bread", "garden", "rocket", "pencil", "ocean", "candle", "mirror", "winter",
           "orange", "horse", "basket", "forest", "violin", "castle", "button", "planet", "jacket", "honey",
           "ladder", "pepper", "rabbit", "shadow", "sugar", "thunder", "wallet", "yellow", "zebra", "anchor",
           "bottle", "carpet", "desert", "engine", "feather", "guitar", "island", "kettle", "lemon", "marble",
           "needle", "pillow", "quiet", "ribbon", "saddle", "tunnel", "velvet", "wheel", "copper", "dragon",
           "frost", "meadow", "puzzle", "spring"],
    "zh": ["苹果", "河流", "石头", "台灯", "白云", "绿叶", "星星", "纸张", "窗户", "老虎",
           "音乐", "银币", "面包", "花园", "火箭", "铅笔", "大海", "蜡烛", "镜子", "冬天",
           "橘子", "马车", "篮子", "森林", "提琴", "城堡", "纽扣", "行星", "外套", "蜂蜜",
           "梯子", "辣椒", "兔子", "影子", "白糖", "雷声", "钱包", "黄瓜", "斑马", "铁锚",
           "瓶子", "地毯", "沙漠", "引擎", "羽毛", "吉他", "海岛", "水壶", "柠檬", "弹珠",
           "针线", "枕头", "安静", "丝带", "马鞍", "隧道", "丝绒", "车轮", "铜钱", "龙舟",
           "冰霜", "草地", "拼图", "春天"],
}
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

ITEMS = {  # (item, measure word) -- English items are plural nouns
    "en": [("apples", ""), ("pens", ""), ("books", ""), ("coins", ""), ("stickers", ""), ("cards", ""),
           ("marbles", ""), ("shells", ""), ("cookies", ""), ("balloons", "")],
    "zh": [("苹果", "个"), ("铅笔", "支"), ("书", "本"), ("硬币", "枚"), ("贴纸", "张"), ("卡片", "张"),
           ("弹珠", "颗"), ("贝壳", "个"), ("饼干", "块"), ("气球", "个")],
}
# fmt: on
